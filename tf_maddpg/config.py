"""What every algorithm's configuration shares, and how a configuration is checked.

Each algorithm has one frozen dataclass (``tf_maddpg/algorithms/<name>/config.py``)
that extends ``RunConfig``, the fields of the run itself: its length, its
environments, evaluation, checkpoints and seed. Every field is validated on
construction; a bad value raises a ``ValueError`` that names the field and
what it accepts. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import ClassVar, Dict, Optional, Tuple

ENV_BACKENDS = ("auto", "batched", "mpe2")

FIELD_ALIASES = {"episodes": "num_episodes"}
"""Shorter names of config fields, taken wherever a user names a field: the command
line (``--episodes``, which its help shows first), a ``--config`` file and a sweep
file."""

RESUMABLE_FIELDS = ("num_episodes", "env_workers", "jit_compile")
"""The fields a resumed run may change: none changes what the run computes (XLA,
``jit_compile``, computes the same update and changes only the rounding), so that a
run made before a faster default can go on with it."""


def listed(words) -> str:
    """Words for a message: ``a``, ``a and b``, ``a, b and c``."""
    words = list(words)
    return " and ".join(filter(None, [", ".join(words[:-1]), words[-1] if words else ""]))


MAX_SEED = 2**32 - 1
"""The largest seed NumPy's and TensorFlow's generators take."""


def documented(default, help: str):
    """A config field with its default and its description (``--help``'s text, read by
    ``algorithms.registry.field_docs`` from the field's metadata, so that it needs no
    source file at run time)."""
    return dataclasses.field(default=default, metadata={"help": " ".join(help.split())})


def changed_fields(saved: dict, given: dict, defaults: Optional[dict] = None) -> list:
    """The fields (sorted) whose values differ between two ``to_dict()`` configs, the
    ``RESUMABLE_FIELDS`` left out: what a resume may not change.

    A field missing from ``saved`` (a run written before the field existed) is
    taken as its value in ``defaults`` (the config class's ``to_dict()``): a new
    field's default is the behaviour the run was trained with.
    """
    defaults = defaults or {}
    return [k for k in sorted(set(saved) | set(given))
            if k not in RESUMABLE_FIELDS and saved.get(k, defaults.get(k)) != given.get(k)]


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """The fields of a training run that every algorithm shares.

    Subclasses add their algorithm's fields and set ``algo``; their
    ``__post_init__`` calls this one first.
    """

    algo: ClassVar[str] = ""
    """The algorithm's registry name (``to_dict`` writes it)."""
    choices: ClassVar[Dict[str, Tuple[str, ...]]] = {"env_backend": ENV_BACKENDS}
    """The values each text field takes (the command line's choices)."""
    presets: ClassVar[Dict[str, Dict[str, object]]] = {}
    """Published configurations by name: the fields each sets on top of the
    defaults (``from_preset``; the command line's ``--preset``)."""
    saved_defaults: ClassVar[Dict[str, object]] = {}
    """A field's value in a configuration saved before the field existed, where
    that differs from its default: the behaviour such runs were trained with."""

    # --- Schedule ----------------------------------------------------------------
    episode_length: int = documented(25, "Steps per episode (mpe2's max_cycles).")
    num_episodes: int = documented(5_000, "Training episodes.")

    # --- Environments --------------------------------------------------------------
    num_envs: int = documented(1, """
        Environments that run their episodes together, acting in one batch. The update
        schedule still counts env steps over all of them.""")
    env_workers: int = documented(0, """
        Worker processes that step the environments (0: step them in this process).
        Workers pay off when an env step costs more than passing its arrays between
        processes; at most num_envs. The mpe2 backend only.""")
    env_backend: str = documented("auto", """
        How mpe2 scenarios are stepped: 'batched' (tf_maddpg's NumPy mpe2, every
        environment in one vectorised step, equal to mpe2 value for value), 'mpe2' (mpe2
        itself, one environment at a time, optionally in env_workers processes), or
        'auto' (batched unless env_workers > 0). Environments given as a factory always
        use the mpe2 path.""")

    # --- Evaluation, checkpoints and seeding ---------------------------------------
    eval_interval: int = documented(100, "Evaluate every this many training episodes.")
    eval_episodes: int = documented(100, """
        Greedy episodes per evaluation (the same start states every time; each seed has
        its own set).""")
    seed: int = documented(0, """
        The run's seed: every random stream (initial weights, exploration, replay
        sampling, update noise, episode and evaluation start states) is derived from it
        (tf_maddpg.seeding).""")
    checkpoint_interval: int = documented(500, """
        Save a checkpoint every this many episodes (and at the end) when the run has an
        output folder.""")

    def __post_init__(self):
        for name in ("episode_length", "num_episodes", "eval_interval", "eval_episodes",
                     "checkpoint_interval", "num_envs"):
            check_int(self, name, low=1)
        check_int(self, "env_workers", low=0, high=self.num_envs,
                  allowed=f"an integer between 0 and num_envs ({self.num_envs})")
        check_int(self, "seed", low=0, high=MAX_SEED)
        check_choice(self, "env_backend", ENV_BACKENDS)
        require(self, self.env_backend != "batched" or self.env_workers == 0, "env_backend",
                "'mpe2' or 'auto' with env_workers > 0 (the batched backend steps every "
                "environment in this process)")

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "RunConfig":
        """The published configuration ``name`` (one of ``presets``), with overrides.

        Raises:
          ValueError: the algorithm has no such preset (the message lists its presets).
        """
        if name not in cls.presets:
            known = ", ".join(cls.presets) or "none"
            raise ValueError(f"algo {cls.algo} has no preset {name!r} (its presets: {known})")
        return cls(**{**cls.presets[name], **overrides})

    @classmethod
    def saved_values(cls, values: dict) -> dict:
        """A saved configuration's fields, with ``saved_defaults`` for those it predates."""
        return {**cls.saved_defaults, **values}

    def replace(self, **changes) -> "RunConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The fields as a JSON-friendly dict, with the algorithm under ``"algo"``."""
        values = {"algo": self.algo, **dataclasses.asdict(self)}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}

    def check_agents(self, specs) -> None:
        """Raises ``ValueError`` (naming the agent and what to use instead) when the
        algorithm cannot train agents ``specs`` (``AgentSpec``s); every agent is
        accepted unless a subclass says otherwise (the value-based family refuses
        Box actions). The learner and ``tf-maddpg train`` call it."""


# --- Checks used by every config's __post_init__ -------------------------------------

def is_int(value) -> bool:
    """An integer, and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class ConfigError(ValueError):
    """A config field with a value it does not take. ``field`` names it and ``reason``
    says what it takes, so that the command line and sweep files can name the field
    in their own words: ``MADDPGConfig.gamma=2.0 is invalid: expected a finite float
    in [0, 1].``"""

    def __init__(self, config, field: str, reason: str):
        self.field = field
        self.value = getattr(config, field)
        self.reason = reason
        super().__init__(f"{type(config).__name__}.{field}={self.value!r} is invalid: {reason}")


def require(config, ok: bool, field: str, allowed: str) -> None:
    """Raises the ``ConfigError`` of a bad field unless ``ok``."""
    if not ok:
        raise ConfigError(config, field, f"expected {allowed}.")


def check_int(config, field, low, high=None, allowed=None) -> None:
    """An integer field in [low, high]."""
    value = getattr(config, field)
    ok = is_int(value) and value >= low and (high is None or value <= high)
    if allowed is None:
        allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
    require(config, ok, field, allowed)


def check_float(config, field, low=None, high=None, low_open=False, allowed=None) -> None:
    """A finite real field in [low, high] (or (low, high] with ``low_open``)."""
    value = getattr(config, field)
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and math.isfinite(value)
          and (low is None or (value > low if low_open else value >= low))
          and (high is None or value <= high))
    if allowed is None:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}]"
        allowed = f"a finite float in {lo}, {hi}" if low is not None else "a finite float"
    require(config, ok, field, allowed)


def check_choice(config, field, choices) -> None:
    """A field that takes one of ``choices``."""
    require(config, getattr(config, field) in choices, field, f"one of {tuple(choices)}")


def check_bool(config, field) -> None:
    """A True/False field."""
    require(config, isinstance(getattr(config, field), bool), field, "True or False")


@dataclasses.dataclass(frozen=True)
class OffPolicyConfig(RunConfig):
    """The fields of the off-policy loop (replay and the update schedule), shared by
    every algorithm that learns from a replay buffer."""

    # --- Replay and the update schedule --------------------------------------------
    batch_size: int = documented(1024, "Transitions per update.")
    buffer_size: int = documented(100_000, "Replay capacity in transitions.")
    minimal_size: int = documented(4_000, "Transitions stored before the first update.")
    update_interval: int = documented(100, """
        Env steps between updates (each update trains every agent once).""")
    async_update: bool = documented(False, """
        Run each update in a background thread while the environments keep stepping. The
        policy then acts with the weights of the update before (one update,
        update_interval env steps, behind; evaluations and checkpoints wait for the
        update in flight). Deterministic and resumable like the default, and about 1.3x
        faster with one environment on 2 CPU cores (docs/benchmarks.md); off by default
        so that a run follows the references' schedule exactly.""")

    def __post_init__(self):
        super().__post_init__()
        check_int(self, "batch_size", low=1)
        check_int(self, "buffer_size", low=self.batch_size,
                  allowed=f"an integer >= batch_size ({self.batch_size})")
        check_int(self, "minimal_size", low=self.batch_size, high=self.buffer_size,
                  allowed=f"an integer between batch_size ({self.batch_size}) "
                          f"and buffer_size ({self.buffer_size})")
        check_int(self, "update_interval", low=1)
        check_bool(self, "async_update")

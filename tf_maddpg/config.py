"""The configurations: one frozen dataclass per algorithm, validated on construction.

The defaults are the settings of the PyTorch teaching reference (Hands-on RL,
chapter 21), so that a run with ``MADDPGConfig()`` is directly comparable to
it. ``MADDPGConfig.original()`` gives the settings of openai/maddpg
(Lowe et al. 2017, https://arxiv.org/abs/1706.02275). ``MATD3Config`` adds
MATD3's fields (Ackermann et al. 2019, https://arxiv.org/abs/1910.01465);
``config_from_dict`` reads either from a dict with an ``"algo"`` key.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import math
import numbers
from typing import ClassVar, Dict, Optional, Tuple, Type

UPDATE_ORDERS = ("sequential", "simultaneous")
TARGET_ACTIONS = ("argmax", "gumbel")
OTHER_ACTIONS = ("current", "batch")


@dataclasses.dataclass(frozen=True)
class MADDPGConfig:
    """Hyperparameters of MADDPG and of its training schedule.

    Every field is validated in ``__post_init__``; a bad value raises a
    ``ValueError`` that names the field and what it accepts.
    """

    algo: ClassVar[str] = "maddpg"
    """The algorithm these settings are for (``to_dict`` writes it)."""

    # --- Optimisation --------------------------------------------------------
    actor_lr: float = 1e-2
    """Adam learning rate of every actor."""
    critic_lr: float = 1e-2
    """Adam learning rate of every critic."""
    adam_epsilon: float = 1e-8
    """Adam's epsilon. 1e-8 is torch.optim.Adam's default, the reference's."""
    gamma: float = 0.95
    """Discount factor."""
    tau: float = 0.01
    """Soft target update rate: target <- (1 - tau) * target + tau * online."""
    batch_size: int = 1024
    """Transitions per update."""
    hidden_sizes: Tuple[int, ...] = (64, 64)
    """Hidden layer widths (ReLU) of every actor and critic."""
    max_grad_norm: Optional[float] = None
    """Clip each network's gradients to this global norm; None turns it off.
    openai/maddpg clips at 0.5; the PyTorch reference does not clip."""
    logits_l2: float = 1e-3
    """Weight of mean(logits ** 2) in the actor loss (the original's regulariser)."""

    # --- Replay and schedule -------------------------------------------------
    buffer_size: int = 100_000
    """Replay capacity in transitions."""
    minimal_size: int = 4_000
    """Transitions stored before the first update."""
    update_interval: int = 100
    """Env steps between updates (each update trains every agent once)."""
    episode_length: int = 25
    """Steps per episode (mpe2's max_cycles)."""
    num_episodes: int = 5_000
    """Training episodes."""

    # --- Exploration and the discrete relaxation ------------------------------
    gumbel_temperature: float = 1.0
    """Temperature of the Gumbel-softmax relaxation."""
    epsilon: float = 0.01
    """Probability that a one-hot action is replaced by a uniformly random one.
    The reference applies it wherever it forms a one-hot action: exploration
    and, inside the update, target actions, the other agents' actions and the
    straight-through sample. Greedy actions (evaluation) never use it."""
    exploration_noise: float = 0.1
    """Box actions only: std of the Gaussian exploration noise, as a fraction
    of half the width of the action space."""

    # --- Variants ------------------------------------------------------------
    update_order: str = "sequential"
    """'sequential': agent by agent, critic then actor, each actor loss through
    the freshly updated critic and the other agents' already updated actors
    (both references). 'simultaneous': every loss from the pre-update weights."""
    target_actions: str = "argmax"
    """Discrete target actions a'_j: 'argmax' (one-hot argmax of the target
    actors, the reference) or 'gumbel' (a soft Gumbel-softmax sample, the original)."""
    other_actions: str = "current"
    """Other agents' actions in agent i's actor loss: 'current' (one-hot argmax
    of their current actors, the reference) or 'batch' (from the replay batch,
    the original)."""
    jit_compile: bool = False
    """Compile the update with XLA (no faster than plain tf.function on the
    2-core CPU of docs/benchmarks.md; try it on a GPU)."""
    async_update: bool = False
    """Run each update in a background thread while the environments keep
    stepping. The policy then acts with the weights of the update before
    (one update, update_interval env steps, behind; evaluations and
    checkpoints wait for the update in flight). Deterministic and resumable
    like the default, and about 1.3x faster with one environment on 2 CPU
    cores (docs/benchmarks.md); off by default so that a run follows the
    references' schedule exactly."""

    # --- Environments ----------------------------------------------------------
    num_envs: int = 1
    """Environments that run their episodes together, acting in one batch.
    Updates still come every update_interval env steps, counted over all of
    them."""
    env_workers: int = 0
    """Worker processes that step the environments (0: step them in this
    process). Workers pay off when an env step costs more than passing its
    arrays between processes; at most num_envs."""

    # --- Evaluation and seeding ----------------------------------------------
    eval_interval: int = 100
    """Evaluate every this many training episodes."""
    eval_episodes: int = 100
    """Greedy episodes per evaluation."""
    seed: int = 0
    """Seeds TensorFlow, NumPy and the environments."""
    checkpoint_interval: int = 500
    """Save a checkpoint every this many episodes (and at the end) when the
    run has an output folder."""

    def __post_init__(self):
        # Accept lists (from JSON or a command line) for the tuple field.
        if isinstance(self.hidden_sizes, (list, tuple)):
            object.__setattr__(self, "hidden_sizes", tuple(self.hidden_sizes))
        _check_float(self, "actor_lr", low=0.0, low_open=True)
        _check_float(self, "critic_lr", low=0.0, low_open=True)
        _check_float(self, "adam_epsilon", low=0.0, low_open=True)
        _check_float(self, "gamma", low=0.0, high=1.0)
        _check_float(self, "tau", low=0.0, high=1.0, low_open=True)
        _check_int(self, "batch_size", low=1)
        _require(self, isinstance(self.hidden_sizes, tuple) and len(self.hidden_sizes) >= 1
                 and all(_is_int(h) and h >= 1 for h in self.hidden_sizes),
                 "hidden_sizes", "one or more integers >= 1")
        if self.max_grad_norm is not None:
            _check_float(self, "max_grad_norm", low=0.0, low_open=True,
                         allowed="None or a float > 0")
        _check_float(self, "logits_l2", low=0.0)
        _check_int(self, "buffer_size", low=self.batch_size,
                   allowed=f"an integer >= batch_size ({self.batch_size})")
        _check_int(self, "minimal_size", low=self.batch_size, high=self.buffer_size,
                   allowed=f"an integer between batch_size ({self.batch_size}) "
                           f"and buffer_size ({self.buffer_size})")
        for name in ("update_interval", "episode_length", "num_episodes",
                     "eval_interval", "eval_episodes", "checkpoint_interval", "num_envs"):
            _check_int(self, name, low=1)
        _check_float(self, "gumbel_temperature", low=0.0, low_open=True)
        _check_float(self, "epsilon", low=0.0, high=1.0)
        _check_float(self, "exploration_noise", low=0.0)
        _require(self, self.update_order in UPDATE_ORDERS, "update_order",
                 f"one of {UPDATE_ORDERS}")
        _require(self, self.target_actions in TARGET_ACTIONS, "target_actions",
                 f"one of {TARGET_ACTIONS}")
        _require(self, self.other_actions in OTHER_ACTIONS, "other_actions",
                 f"one of {OTHER_ACTIONS}")
        for name in ("jit_compile", "async_update"):
            _require(self, isinstance(getattr(self, name), bool), name, "True or False")
        _check_int(self, "env_workers", low=0, high=self.num_envs,
                   allowed=f"an integer between 0 and num_envs ({self.num_envs})")
        _check_int(self, "seed", low=0)

    @classmethod
    def original(cls, **overrides) -> "MADDPGConfig":
        """The settings of openai/maddpg (Lowe et al. 2017), with overrides.

        Gradient clipping, Gumbel-softmax target actions, the other agents'
        actions from the batch, no epsilon, a 1e6 buffer and 25,600 warm-up
        transitions; 60,000 episodes.
        """
        settings = dict(
            max_grad_norm=0.5, target_actions="gumbel", other_actions="batch",
            epsilon=0.0, buffer_size=1_000_000, minimal_size=25_600,
            num_episodes=60_000)
        settings.update(overrides)
        return cls(**settings)

    def replace(self, **changes) -> "MADDPGConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The fields as a JSON-friendly dict, with the algorithm under ``"algo"``."""
        values = {"algo": self.algo, **dataclasses.asdict(self)}
        values["hidden_sizes"] = list(self.hidden_sizes)
        return values


@dataclasses.dataclass(frozen=True)
class MATD3Config(MADDPGConfig):
    """MADDPG's settings plus MATD3's: TD3's three changes, agent by agent.

    MATD3 (Ackermann et al. 2019, https://arxiv.org/abs/1910.01465) gives
    every agent twin centralised critics and takes the smaller of their
    target values; smooths the target actions with clipped noise; and
    updates the actors and every target network once per ``policy_delay``
    critic updates (TD3, Fujimoto et al. 2018, https://arxiv.org/abs/1802.09477).
    """

    algo: ClassVar[str] = "matd3"

    # --- MATD3 -----------------------------------------------------------------
    policy_delay: int = 2
    """Critic updates per update of the actors and of every target network
    (TD3's d; 1 updates them every time)."""
    target_noise: float = 0.2
    """Target policy smoothing: std of the Gaussian noise added to each
    target action before it is used (Box agents: in units of half the action
    range, then clipped to the bounds; Discrete agents: added to the target
    actor's logits before the one-hot or Gumbel-softmax target action)."""
    target_noise_clip: float = 0.5
    """The smoothing noise is clipped to [-target_noise_clip, target_noise_clip]
    (same units as target_noise)."""

    def __post_init__(self):
        super().__post_init__()
        _check_int(self, "policy_delay", low=1)
        _check_float(self, "target_noise", low=0.0)
        _check_float(self, "target_noise_clip", low=0.0)


ALGORITHMS: Dict[str, Type[MADDPGConfig]] = {"maddpg": MADDPGConfig, "matd3": MATD3Config}
"""The config class of each algorithm name."""


def config_from_dict(values: dict) -> MADDPGConfig:
    """The config a dict describes: ``values["algo"]`` (default "maddpg") picks the class.

    Raises:
      ValueError: the algorithm is unknown, a field does not exist for it
        (the message names the algorithm that has it), or a value is bad.
    """
    values = dict(values)
    algo = values.pop("algo", "maddpg")
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algo {algo!r}; expected one of {', '.join(ALGORITHMS)}")
    cls = ALGORITHMS[algo]
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        owners = {name: a for a, c in ALGORITHMS.items()
                  for name in (f.name for f in dataclasses.fields(c))}
        hints = [f"{k} (a field of algo {owners[k]})" if k in owners else k for k in unknown]
        raise ValueError(f"algo {algo} has no field {', '.join(hints)}")
    return cls(**values)


@functools.lru_cache(maxsize=None)
def field_docs() -> dict:
    """Each field's one-paragraph description (every algorithm's), read from its docstring."""
    docs = {}
    for cls in ALGORITHMS.values():
        body = ast.parse(inspect.getsource(cls)).body[0].body
        for node, following in zip(body, body[1:]):
            if (isinstance(node, ast.AnnAssign) and isinstance(following, ast.Expr)
                    and isinstance(following.value, ast.Constant)):
                docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _require(config, ok: bool, field: str, allowed: str) -> None:
    if not ok:
        raise ValueError(f"{type(config).__name__}.{field}={getattr(config, field)!r} is "
                         f"invalid: expected {allowed}.")


def _check_int(config, field, low, high=None, allowed=None):
    value = getattr(config, field)
    ok = _is_int(value) and value >= low and (high is None or value <= high)
    _require(config, ok, field, allowed or f"an integer >= {low}")


def _check_float(config, field, low=None, high=None, low_open=False, allowed=None):
    value = getattr(config, field)
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and math.isfinite(value)
          and (low is None or (value > low if low_open else value >= low))
          and (high is None or value <= high))
    if allowed is None:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}]"
        allowed = f"a finite float in {lo}, {hi}" if low is not None else "a finite float"
    _require(config, ok, field, allowed)

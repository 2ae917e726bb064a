"""The checks of ``train``'s input before anything runs: the config (--config and the
options), scenario options (--env-arg), and a new run's folder, length, size and
memory. A failure is a ``BadInput`` whose message says what to change."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
from typing import Dict, List, Optional, Sequence

from tf_maddpg.algorithms.registry import ALGORITHMS, config_from_dict
from tf_maddpg.cli.errors import BadInput
from tf_maddpg.cli.messages import ALL_FIELDS, cli_words, flag_of, reason_of
from tf_maddpg.config import ConfigError, FIELD_ALIASES, RunConfig
from tf_maddpg.inputs import InputError, did_you_mean, read_yaml_or_json, show_value


def config_from(file: Optional[str], options: Dict[str, object],
                algo: Optional[str] = None, preset: Optional[str] = None) -> RunConfig:
    """The config: defaults, then the preset, then the fields of ``file`` (YAML/JSON),
    then ``options``.

    ``algo`` (the --algo option) overrides the file's ``algo``; the default is maddpg.
    ``preset`` (the --preset option) overrides the file's ``preset``.

    Raises:
      BadInput: the file is unreadable, not text, or names a field that does
        not exist; a field belongs to another algorithm; or a value is out
        of range (the message names the option, e.g. ``--gamma 2.0 is invalid``).
    """
    from_file = _read_config_file(file) if file else {}
    values = dict(from_file)
    values.update(options)
    if algo:
        values["algo"] = algo
    if preset:
        values["preset"] = preset
    chosen = values.get("algo", "maddpg")
    if chosen in ALGORITHMS and values.get("preset") is not None:
        presets = ALGORITHMS[chosen].config_class.presets
        if values["preset"] not in presets:
            where = "--preset" if preset else f"preset: in --config {file}"
            raise BadInput(f"{where} {values['preset']}: algo {chosen} has no such preset "
                           f"(its presets: {', '.join(presets) or 'none'})")
    if chosen in ALGORITHMS:
        own = {f.name for f in dataclasses.fields(ALGORITHMS[chosen].config_class)}
        foreign = sorted(k for k in options if k not in own)
        if foreign:
            flags = ", ".join(flag_of(k) for k in foreign)
            owners = sorted({a.name for a in ALGORITHMS.values() for k in foreign
                             if k in {f.name for f in dataclasses.fields(a.config_class)}})
            raise BadInput(f"{flags} {'is' if len(foreign) == 1 else 'are'} not an option "
                           f"of algo {chosen}; "
                           + " or ".join(f"--algo {o}" for o in owners) + " takes it")
    try:
        return config_from_dict(values)
    except (ValueError, TypeError) as error:
        raise BadInput(config_message(error, options, from_file, file)) from None


def config_message(error: Exception, options: dict, from_file: dict,
                    file: Optional[str]) -> str:
    """A config's error in command-line words: ``--gamma 2.0 is invalid: ...``."""
    if not isinstance(error, ConfigError):  # a field the algorithm does not have: a file's
        return f"--config {file}: {error}" if file else str(error)
    field = error.field
    if field in options:
        where = f"{flag_of(field)} {show_value(options[field])}"
    elif field in from_file:
        where = f"{field}: {show_value(from_file[field])} in --config {file}"
    else:
        default = next((f.default for a in ALGORITHMS.values()
                        for f in dataclasses.fields(a.config_class) if f.name == field), None)
        where = f"{flag_of(field)} {show_value(default)} (the default)"
    return f"{where} is invalid: {cli_words(error.reason)}"


def _read_config_file(path: str) -> dict:
    try:
        data = read_yaml_or_json(path, f"--config {path}",
                                 example="e.g. a config.json of an earlier run")
    except InputError as error:
        raise BadInput(str(error)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadInput(f"--config {path} must hold a mapping of config fields, "
                       f"not a {type(data).__name__}")
    known = set(ALL_FIELDS) | {"algo"}
    values = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        name = FIELD_ALIASES.get(name, name)  # episodes: as on the command line
        if name in values:
            raise BadInput(f"--config {path} gives {name} twice ({key!r} and another name "
                           "for it); keep one")
        if name not in known:
            raise BadInput(f"--config {path}: unknown config field {key!r}"
                           f"{did_you_mean(name, sorted(known))}; "
                           f"known fields: {', '.join(sorted(known))}")
        values[name] = value
    return values


def config_options(args) -> Dict[str, object]:
    """The config fields that the command line gave (``args``' options named as fields)."""
    return {k: v for k, v in vars(args).items() if k in ALL_FIELDS}


def env_kwargs_from(pairs: Sequence[tuple], scenario: str) -> Dict[str, object]:
    """The scenario options of repeated --env-arg KEY=VALUE pairs, checked against the scenario.

    Raises:
      BadInput: a key is not an option of the scenario (the message lists
        its options), a key is given twice, a value has the wrong type for
        the option's default, or a count (an integer option) is negative.
    """
    from tf_maddpg.envs.mpe import check_scenario_options

    values = {}
    for key, value in pairs:
        if key in values:
            raise BadInput(f"--env-arg {key} is given twice")
        values[key] = value
    try:
        return check_scenario_options(scenario, values, where="--env-arg")
    except ValueError as error:
        raise BadInput(str(error)) from None


def check_scenario(scenario: str, env_kwargs: dict, episode_length: int = 25):
    """Builds the scenario with its options, resets it and takes one step; returns its specs.

    mpe2 accepts some options that it cannot run with (``N=0``,
    ``local_ratio=5.0``) and fails deep inside on the first reset or step;
    this finds out before a run starts.

    Raises:
      ValueError: the scenario cannot be built, reset or stepped with these
        options (the message gives mpe2's reason), or it has no agents.
    """
    import numpy as np

    from tf_maddpg.envs.mpe import make_env

    try:
        env = make_env(scenario, max_cycles=episode_length, **env_kwargs)
    except Exception as error:  # noqa: BLE001 - mpe2 raises whatever its code trips on
        raise ValueError(reason_of(error)) from None
    try:
        if not env.agents:
            raise ValueError("it has no agents")
        env.reset_packed(seed=0)
        env.step_packed(np.zeros(env.action_width, np.float32))
        return list(env.specs)
    except ValueError as error:
        raise ValueError(reason_of(error)) from None
    except Exception as error:  # noqa: BLE001
        raise ValueError(reason_of(error)) from None
    finally:
        with contextlib.suppress(Exception):
            env.close()


# --- A new run: its folder, its length, its memory ----------------------------------------

def default_run_dir(scenario: str, config: RunConfig, env_kwargs: Optional[dict] = None) -> str:
    """The run folder of ``train`` without ``--out``: runs/ENV/ALGO[-OPTIONS]/seedSEED.

    The scenario's options are part of the name, so that runs of one scenario
    with different algorithms or options do not share a folder, e.g.
    ``runs/simple_spread_v3/maddpg/seed0`` and ``runs/simple_spread_v3/matd3-N4/seed0``.
    """
    parts = [config.algo]
    for key, value in sorted((env_kwargs or {}).items()):
        if isinstance(value, bool):
            parts.append(key if value else f"no_{key}")
        elif isinstance(value, (int, float)):
            parts.append(f"{key}{value:g}" if isinstance(value, float) else f"{key}{value}")
        else:
            parts.append(f"{key}-{re.sub(r'[^A-Za-z0-9_.]+', '_', str(value))}")
    return os.path.join("runs", scenario, "-".join(parts), f"seed{config.seed}")


def short_run_warnings(config: RunConfig) -> List[str]:
    """What a run of ``config`` will not do because it is too short, one sentence each.

    A run stores at most ``num_episodes * episode_length`` transitions, and
    updates only once ``minimal_size`` are stored; it evaluates every
    ``eval_interval`` episodes, so the episodes after the last multiple of it are
    never evaluated (said when --episodes or --eval-interval is not the algorithm's
    default).
    """
    warnings = []
    stored = config.num_episodes * config.episode_length
    minimal = getattr(config, "minimal_size", None)
    if minimal is not None and stored < minimal:
        enough = -(-minimal // config.episode_length)
        warnings.append(
            f"no update will happen: {config.num_episodes} episodes x {config.episode_length} "
            f"steps store at most {stored} transitions, fewer than --minimal-size {minimal} "
            f"needed before the first update; give --episodes {enough} or more, or lower "
            f"--minimal-size (at least --batch-size {config.batch_size})")
    left = config.num_episodes % config.eval_interval
    default = type(config)()
    chosen = (config.num_episodes, config.eval_interval) != (default.num_episodes,
                                                            default.eval_interval)
    if config.num_episodes >= config.eval_interval and left and chosen:
        last = config.num_episodes - left
        warnings.append(
            f"the last {left} episodes will not be evaluated: --episodes "
            f"{config.num_episodes} is not a multiple of --eval-interval "
            f"{config.eval_interval}, so the last evaluation is at episode {last}; give "
            f"--episodes {last + config.eval_interval} or {last}")
    if config.num_episodes < config.eval_interval:
        warnings.append(
            f"no evaluation will happen: one is made every --eval-interval "
            f"{config.eval_interval} episodes and the run has {config.num_episodes}, so "
            f"metrics.csv and returns.png stay empty; give --eval-interval "
            f"{max(1, config.num_episodes // 5)} or more --episodes")
    return warnings


def check_scenario_size(scenario: str, env_kwargs: dict, config: RunConfig) -> None:
    """Refuses scenario counts (``--env-arg N=1000000000``) whose run would not fit in
    memory, before the scenario is built (mpe2 would build it for minutes, then fail).

    A stored transition's width grows with a count as a quadratic (each of N agents
    observes the others), the number of agents linearly; both are measured at the
    count's default and the next two values and extrapolated to the value asked. The
    run keeps the rows of its replay buffer, or of a rollout (num_envs x
    episode_length), which an on-policy update passes through every agent's
    centralised critic: rows x width (x agents) x 4 bytes must fit in half of this
    machine's memory, as ``--buffer-size`` must fit in it.

    Raises:
      BadInput: the estimate exceeds half of the machine's memory (the message
        gives the largest count that fits).
    """
    from tf_maddpg.envs.mpe import scenario_options
    from tf_maddpg.storage.replay import format_bytes, physical_memory

    physical = physical_memory()
    defaults = scenario_options(scenario)
    large = {k: v for k, v in env_kwargs.items()
             if isinstance(defaults.get(k), int) and not isinstance(defaults.get(k), bool)
             and isinstance(v, int) and v > 2 * defaults[k] + 4}
    if physical is None or not large:
        return
    rows = getattr(config, "buffer_size", None)
    replay = rows is not None
    what = (f"the replay buffer of --buffer-size {rows}" if replay else
            f"a rollout of --num-envs {config.num_envs} x --episode-length "
            f"{config.episode_length} steps seen by every agent's critic")
    rows = rows if replay else config.num_envs * config.episode_length
    for key, value in large.items():
        width, agents = _sizes_of_count(scenario, {**env_kwargs, **{k: defaults[k] for k in large}},
                                        key, defaults[key])

        def needed(count):
            return width(count) * (1 if replay else agents(count)) * rows * 4

        if needed(value) > physical // 2:
            fits = defaults[key]
            while needed(fits + 1) <= physical // 2:
                fits += 1
            raise BadInput(f"--env-arg {key}={value}: {scenario} would store about "
                           f"{width(value):,} values per transition, so {what} would need "
                           f"{format_bytes(needed(value))}, more than half of this machine's "
                           f"{format_bytes(physical)}; give a smaller {key} (at most about "
                           f"{fits})")


def _sizes_of_count(scenario: str, env_kwargs: dict, key: str, start: int):
    """A stored transition's width (``TransitionLayout``) and the number of agents, as
    functions of the count ``key``, from the scenario built with ``start``, ``start + 1``
    and ``start + 2``."""
    from tf_maddpg.envs.mpe import make_env
    from tf_maddpg.storage.replay import TransitionLayout

    widths, agents = [], []
    for count in (start, start + 1, start + 2):
        env = make_env(scenario, **{**env_kwargs, key: count})
        try:
            widths.append(TransitionLayout(env.specs).width)
            agents.append(len(env.specs))
        finally:
            env.close()

    def fitted(values):
        first, second = values[1] - values[0], values[2] - 2 * values[1] + values[0]
        return lambda x: (values[0] + first * (x - start)
                          + second * (x - start) * (x - start - 1) // 2)
    return fitted(widths), fitted(agents)


def check_buffer_memory(config: RunConfig, specs) -> None:
    """Refuses a replay buffer larger than the machine's memory (``check_buffer_fits``),
    in command-line words."""
    size = getattr(config, "buffer_size", None)
    if size is None:
        return
    from tf_maddpg.storage.replay import check_buffer_fits

    try:
        check_buffer_fits(specs, size)
    except MemoryError as error:
        raise BadInput(cli_words(str(error).replace(f"buffer_size={size}:",
                                                    f"--buffer-size {size}:", 1))) from None



"""Every check of the command's input before anything runs: configs (--config and
the options), scenario options (--env-arg), a new run's folder and length, output
folders and files, and run folders (RUN_DIR). A failure is a ``BadInput`` or a
``CommandError`` whose message says what to change."""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import re
from typing import Dict, List, Optional, Sequence

from tf_maddpg.algorithms.registry import ALGORITHMS, config_from_dict
from tf_maddpg.cli.errors import BadInput, CommandError
from tf_maddpg.cli.messages import (ALL_FIELDS, FLAG_ALIASES, cli_words, describe_specs,
                                    flag_of, reason_of, show_options)
from tf_maddpg.config import ConfigError, RunConfig
from tf_maddpg.inputs import (InputError, did_you_mean, probe_writable, read_yaml_or_json,
                              show_value)


# --- Configs and scenario options -------------------------------------------------------

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
        raise BadInput(_config_message(error, options, from_file, file)) from None


def _config_message(error: Exception, options: dict, from_file: dict,
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
    aliases = {flag[2:].replace("-", "_"): field for field, flags in FLAG_ALIASES.items()
               for flag in flags}  # episodes: as on the command line and in sweep files
    values = {}
    for key, value in data.items():
        name = aliases.get(str(key).replace("-", "_"), str(key).replace("-", "_"))
        if name in values:
            raise BadInput(f"--config {path} gives {name} twice ({key!r} and another name "
                           "for it); keep one")
        if name not in known:
            raise BadInput(f"--config {path}: unknown config field {key!r}"
                           f"{did_you_mean(name, sorted(known))}; "
                           f"known fields: {', '.join(sorted(known))}")
        values[name] = value
    return values


def _config_options(args) -> Dict[str, object]:
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


def _check_buffer_memory(config: RunConfig, specs) -> None:
    size = getattr(config, "buffer_size", None)
    if size is None:
        return
    from tf_maddpg.storage.replay import check_buffer_fits

    try:
        check_buffer_fits(specs, size)
    except MemoryError as error:
        raise BadInput(cli_words(str(error).replace(f"buffer_size={size}:",
                                                    f"--buffer-size {size}:", 1))) from None


# --- Output folders and files -------------------------------------------------------------

def _check_writable_folder(path: str, option: Optional[str], create: bool = True) -> None:
    """Makes sure that ``path`` is, or can become, a folder this process writes to, and is
    none of a run folder's own files (``_check_not_a_run_file``). With ``create=False``
    nothing is made: the nearest folder that exists on the way must be writable."""
    name = f"{option} {path}" if option else f"the run folder {path}"
    fix = "give another folder" if option else "choose another with --out DIR"
    if os.path.exists(path) and not os.path.isdir(path):
        raise BadInput(f"{name} is a file, not a folder; {fix}")
    parent = os.path.abspath(path)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise BadInput(f"{name}: {parent} is a file, so no folder can be made there; {fix}")
    _check_not_a_run_file(path, name)
    try:
        probe_writable(path if create else parent, create)
    except OSError as error:
        raise BadInput(f"{name}: cannot write there ({error.strerror or error}); {fix}") from None


def _check_output_file(path: str, option: str, suffixes: Sequence[str] = ()) -> None:
    """Makes sure that ``path`` can be written as a file (its folder is made if missing)
    and is none of a run folder's own files."""
    if os.path.isdir(path):
        raise BadInput(f"{option} {path} is a folder; give a file name")
    if suffixes and not path.lower().endswith(tuple(suffixes)):
        raise BadInput(f"{option} {path}: give a file name ending in "
                       + (f"{', '.join(suffixes[:-1])} or {suffixes[-1]}" if len(suffixes) > 1
                          else suffixes[0]))
    _check_not_a_run_file(path, f"{option} {path}")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise BadInput(f"{option} {path}: {folder} is a file, not a folder")
    try:
        probe_writable(folder, create=True)
    except OSError as error:
        raise BadInput(f"{option} {path}: cannot write there "
                       f"({error.strerror or error})") from None


def _check_not_a_run_file(path: str, name: str) -> None:
    """Refuses an output path among a run folder's own files (RUN/metrics.csv,
    RUN/checkpoints/..., RUN/actors/...): no command's output overwrites a run's file.
    A new name in a run folder (RUN/adv.gif, RUN/exported) is fine."""
    from tf_maddpg.runs.folder import LOCK_FILE, RUN_CONTENTS, looks_like_run

    target = os.path.abspath(path)
    above = os.path.dirname(target)
    while True:
        if looks_like_run(above):
            entry = os.path.relpath(target, above).split(os.sep)[0]
            if entry in RUN_CONTENTS + (LOCK_FILE,):
                raise BadInput(f"{name} is in the run folder {above}, where it would "
                               f"overwrite the run's own {entry}; give a path outside the "
                               "run's files")
        if os.path.dirname(above) == above:
            return
        above = os.path.dirname(above)


# --- Run folders (RUN_DIR) ----------------------------------------------------------------

def run_episode(run_dir: str) -> int:
    """The episode a run folder would resume from: its newest checkpoint's number
    (checkpoints/ckpt-<episode>.index), 0 without one."""
    from tf_maddpg.runs.folder import CHECKPOINT_DIR

    numbers = [int(m.group(1)) for path in
               glob.glob(os.path.join(glob.escape(run_dir), CHECKPOINT_DIR, "ckpt-*.index"))
               if (m := re.fullmatch(r"ckpt-(\d+)\.index", os.path.basename(path)))]
    return max(numbers, default=0)


def export_pending(run_dir: str, episode: int) -> bool:
    """Whether a run whose newest checkpoint is of ``episode`` still lacks the SavedModels
    of that episode: killed while it wrote them at its end, it has none (or older ones than
    that checkpoint), and a ``--resume`` with the same total writes them."""
    from tf_maddpg.runs.folder import CHECKPOINT_DIR, SAVED_MODEL_DIR

    saved = os.path.join(run_dir, SAVED_MODEL_DIR, "metadata.json")  # written last
    if not os.path.exists(saved):
        return True
    try:
        index = os.path.join(run_dir, CHECKPOINT_DIR, f"ckpt-{episode}.index")
        return os.path.getmtime(saved) < os.path.getmtime(index)
    except OSError:
        return False


def _read_run(run_dir: str, need_scenario: bool = True):
    from tf_maddpg.runs.folder import RunFolderError, read_run

    try:
        info = read_run(run_dir)
    except RunFolderError as error:
        raise CommandError(cli_words(str(error))) from None
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise CommandError(f"{run_dir} holds a damaged run.json or config.json "
                           f"({reason_of(error)})") from None
    if need_scenario and info.scenario is None:
        raise CommandError(f"{run_dir} was trained on an environment given in Python; "
                           "the command line knows mpe2 scenarios only")
    return info


def _check_run_scenario(run_dir: str, info, episode_length: int) -> None:
    """The run's scenario and options (run.json) still give the agents its actors were
    trained for; CommandError if run.json was edited."""
    from tf_maddpg.envs.mpe import known_scenarios

    where = os.path.join(run_dir, "run.json")
    if info.scenario not in known_scenarios():
        raise CommandError(f"{where} names the scenario {info.scenario!r}, which mpe2 does not "
                           "have; was run.json edited? Put back the scenario the run was "
                           "trained on")
    try:
        specs = check_scenario(info.scenario, info.env_kwargs, episode_length)
    except (ValueError, TypeError) as error:
        raise CommandError(f"{where}: {info.scenario} cannot run with the options "
                           f"{show_options(info.env_kwargs)} ({error}); was run.json edited? "
                           "Put back the options the run was trained with") from None
    if specs != list(info.specs):
        raise CommandError(
            f"{where}: {info.scenario} with options {show_options(info.env_kwargs)} has "
            f"agents {describe_specs(specs)}, but the run's actors were trained for "
            f"{describe_specs(info.specs)}; was run.json edited? Put back the scenario and "
            "options the run was trained with")


def _load_run_policy(run_dir: str, info):
    from tf_maddpg.runs.actors import load_run_policy

    try:
        return load_run_policy(run_dir, info)
    except (FileNotFoundError, ValueError) as error:
        raise CommandError(f"{error} (actors are saved with every checkpoint)") from None
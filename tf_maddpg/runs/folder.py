"""The run folder: what a training run writes, and reading it back.

    RUN_DIR/
      config.json      the resolved RunConfig (usable as ``--config``)
      run.json         the scenario, its options, the agents' sizes, the version
      metrics.csv      one row per evaluation: returns and mean losses per agent
      returns.png      the return curves, refreshed at every evaluation
      tensorboard/     tf.summary event files (returns, losses, env steps/s)
      checkpoints/     the newest checkpoints (see tf_maddpg.checkpoint)
      actors/          the actors as .keras files, as of the newest checkpoint
      saved_model/     one TensorFlow SavedModel per agent actor, at the end
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import re
from typing import List, Optional

from tf_maddpg.algorithms.registry import config_from_dict
from tf_maddpg.config import RESUMABLE_FIELDS, RunConfig, changed_fields, listed
from tf_maddpg.envs.specs import AgentSpec

CONFIG_FILE = "config.json"
RUN_FILE = "run.json"
METRICS_FILE = "metrics.csv"
PLOT_FILE = "returns.png"
TENSORBOARD_DIR = "tensorboard"
CHECKPOINT_DIR = "checkpoints"
ACTORS_DIR = "actors"
SAVED_MODEL_DIR = "saved_model"


class RunFolderError(ValueError):
    """A folder is not a run folder, or does not match what was asked of it."""


@dataclasses.dataclass(frozen=True)
class RunInfo:
    """What ``run.json`` and ``config.json`` say about a run.

    Attributes:
      scenario: the mpe2 scenario name, or None for an environment given as a factory.
      env_kwargs: the scenario's options.
      specs: the agents' sizes, in the adapter's order.
      config: the run's configuration.
    """

    scenario: Optional[str]
    env_kwargs: dict
    specs: List[AgentSpec]
    config: RunConfig


def run_record(scenario: Optional[str], env_kwargs: Optional[dict], specs) -> dict:
    """What ``run.json`` holds: the scenario, its options, the agents' sizes, the version
    (a checkpoint keeps it too, so that a deleted run.json is rebuilt)."""
    from tf_maddpg import __version__

    return {"scenario": scenario, "env_kwargs": dict(env_kwargs or {}),
            "agents": [dataclasses.asdict(s) for s in specs], "tf_maddpg": __version__}


def write_run_files(run_dir: str, scenario: Optional[str], env_kwargs: Optional[dict],
                    specs, config: RunConfig) -> None:
    """Writes ``config.json`` and ``run.json``."""
    os.makedirs(run_dir, exist_ok=True)
    _write_json(os.path.join(run_dir, CONFIG_FILE), config.to_dict())
    _write_json(os.path.join(run_dir, RUN_FILE), run_record(scenario, env_kwargs, specs))


def read_run(run_dir: str) -> RunInfo:
    """Reads a run folder's ``run.json`` and ``config.json``.

    A missing one is read from the newest checkpoint, which keeps both (with a
    warning; ``--resume`` writes it back), or run.json from ``saved_model/metadata.json``.

    Raises:
      RunFolderError: the folder is missing, holds no tf_maddpg run, or a file is
        damaged (the message names the file and how to recover).
    """
    if not os.path.isdir(run_dir):
        if os.path.exists(run_dir):
            raise RunFolderError(f"{run_dir} is a file, not a run folder; give the --out "
                                 "folder of a `tf-maddpg train` run")
        raise RunFolderError(f"{run_dir} does not exist")
    paths = {name: os.path.join(run_dir, name) for name in (RUN_FILE, CONFIG_FILE)}
    missing = [name for name, path in paths.items() if not os.path.exists(path)]
    saved = _saved_files(run_dir) if missing else {}
    lacking = [name for name in missing if name not in saved]
    if lacking:
        if has_checkpoint(run_dir):
            raise RunFolderError(
                f"{run_dir} has no {' and no '.join(lacking)}, and its checkpoints, written by "
                "an older tf_maddpg, do not keep "
                f"{'them' if len(lacking) > 1 else 'it'}: copy {' and '.join(lacking)} from "
                "a run of the same scenario, options and config into it")
        raise RunFolderError(f"{run_dir} is not a tf_maddpg run folder (no {', '.join(lacking)}); "
                             "give the --out folder of a `tf-maddpg train` run")
    for name in missing:
        import warnings

        warnings.warn(f"{paths[name]} is missing; read from {saved[name][1]} (train --resume "
                      "writes it back)", RuntimeWarning, stacklevel=1)
    values = {name: saved[name][0] if name in saved else _read_json(path, run_dir)
              for name, path in paths.items()}
    run = values[RUN_FILE]
    try:
        specs = [AgentSpec(**{**a, "low": _tuple(a.get("low")), "high": _tuple(a.get("high"))})
                 for a in run["agents"]]
        scenario, env_kwargs = run.get("scenario"), run.get("env_kwargs") or {}
        if not isinstance(env_kwargs, dict):
            raise TypeError(f"env_kwargs is a {type(env_kwargs).__name__}, not a mapping")
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise _damaged(paths[RUN_FILE], run_dir, error) from None
    try:
        config = config_from_dict(values[CONFIG_FILE], saved=True)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise _damaged(paths[CONFIG_FILE], run_dir, error) from None
    return RunInfo(scenario, env_kwargs, specs, config)


def _read_json(path: str, run_dir: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (OSError, ValueError) as error:
        raise _damaged(path, run_dir, error) from None
    if not isinstance(value, dict):
        raise _damaged(path, run_dir, TypeError(f"it holds a {type(value).__name__}, not a "
                                                "mapping"))
    return value


def _damaged(path: str, run_dir: str, error: BaseException) -> RunFolderError:
    reason = " ".join(str(error).split()).rstrip(".") or type(error).__name__
    kind = type(error).__name__
    fix = (f"delete it, and it is read from the newest checkpoint (train --resume {run_dir} "
           "writes it back)" if has_checkpoint(run_dir) else
           "put back the file the run wrote")
    return RunFolderError(f"{path} is damaged ({kind}: {reason}); {fix}")


def _saved_files(run_dir: str) -> dict:
    """run.json's and config.json's content as the newest checkpoint keeps them (and
    run.json's as saved_model/metadata.json has it): {name: (value, where)}."""
    found = {}
    if has_checkpoint(run_dir):
        from tf_maddpg.runs.checkpoint import saved_state

        state = saved_state(os.path.join(run_dir, CHECKPOINT_DIR))
        where = f"the newest checkpoint in {os.path.join(run_dir, CHECKPOINT_DIR)}"
        if state and isinstance(state.get("config"), dict):
            found[CONFIG_FILE] = (state["config"], where)
        if state and isinstance(state.get("run"), dict):
            found[RUN_FILE] = (state["run"], where)
    metadata = os.path.join(run_dir, SAVED_MODEL_DIR, "metadata.json")
    if RUN_FILE not in found and os.path.exists(metadata):
        try:
            with open(metadata) as f:
                exported = json.load(f)
            agents = [{"name": a["name"], "obs_dim": a["obs_dim"], "action_dim": a["action_dim"],
                       "discrete": a["action"] == "discrete", "low": a.get("low"),
                       "high": a.get("high")} for a in exported["agents"]]
            found[RUN_FILE] = ({"scenario": exported.get("scenario"),
                                "env_kwargs": exported.get("env_kwargs") or {},
                                "agents": agents}, metadata)
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return found


RUN_CONTENTS = (CONFIG_FILE, RUN_FILE, METRICS_FILE, PLOT_FILE, TENSORBOARD_DIR, CHECKPOINT_DIR,
                ACTORS_DIR, SAVED_MODEL_DIR)
"""Everything a run writes in its folder (and all that ``--overwrite`` removes)."""

LOCK_FILE = ".lock"


def holds_run(run_dir: str) -> bool:
    """Whether ``run_dir`` holds any of a run's files."""
    return any(os.path.lexists(os.path.join(run_dir, f)) for f in RUN_CONTENTS)


def looks_like_run(path: str) -> bool:
    """Whether ``path`` is a run folder: it has a run.json, a config.json or checkpoints/."""
    return any(os.path.exists(os.path.join(path, name))
               for name in (RUN_FILE, CONFIG_FILE, CHECKPOINT_DIR))


def is_tf_maddpg_run(run_dir: str) -> bool:
    """Whether ``run_dir``'s run.json was written by tf_maddpg."""
    try:
        with open(os.path.join(run_dir, RUN_FILE)) as f:
            return "tf_maddpg" in json.load(f)
    except (OSError, ValueError, TypeError):
        return False


def has_checkpoint(run_dir: str) -> bool:
    """Whether the run has written a checkpoint."""
    directory = os.path.join(run_dir, CHECKPOINT_DIR)
    return os.path.isdir(directory) and any(
        name.startswith("ckpt-") and name.endswith(".index") for name in os.listdir(directory))


def run_episode(run_dir: str) -> int:
    """The episode a run folder would resume from: its newest checkpoint's number
    (checkpoints/ckpt-<episode>.index), 0 without one."""
    numbers = [int(m.group(1)) for path in
               glob.glob(os.path.join(glob.escape(run_dir), CHECKPOINT_DIR, "ckpt-*.index"))
               if (m := re.fullmatch(r"ckpt-(\d+)\.index", os.path.basename(path)))]
    return max(numbers, default=0)


def export_pending(run_dir: str, episode: int) -> bool:
    """Whether a run whose newest checkpoint is of ``episode`` still lacks the SavedModels
    of that episode: killed while it wrote them at its end, it has none (or older ones than
    that checkpoint), and a ``--resume`` with the same total writes them."""
    saved = os.path.join(run_dir, SAVED_MODEL_DIR, "metadata.json")  # written last
    if not os.path.exists(saved):
        return True
    try:
        index = os.path.join(run_dir, CHECKPOINT_DIR, f"ckpt-{episode}.index")
        return os.path.getmtime(saved) < os.path.getmtime(index)
    except OSError:
        return False


def check_resume_total(run_dir: str, num_episodes: int, total_given: bool) -> int:
    """The episode the run in ``run_dir`` resumes from, once a resume to ``num_episodes``
    in all has something to do: train further, or write the SavedModels that a run
    killed at its end did not (``export_pending``).

    Args:
      total_given: whether the user gave ``num_episodes`` for this resume (the message
        then says it is the new total).

    Raises:
      RunFolderError: the run is at or past ``num_episodes`` already, with nothing to do.
    """
    done = run_episode(run_dir)
    if num_episodes < done or (num_episodes == done and not export_pending(run_dir, done)):
        more = max(2 * done, done + 1)
        if total_given:
            raise RunFolderError(f"{run_dir} is at episode {done} already, and num_episodes "
                                 f"gives the new total: pass more than {done} (e.g. "
                                 f"num_episodes {more}) to train further")
        raise RunFolderError(f"{run_dir} has finished its {done} episodes; to train further "
                             f"give a larger total, e.g. num_episodes {more}")
    return done


def check_same_scenario(run_dir: str, info: RunInfo, scenario) -> None:
    """Refuses to resume the run in ``run_dir`` (``info``) on another mpe2 scenario.

    Raises:
      RunFolderError: ``RUN is a run of A, not B``.
    """
    if isinstance(scenario, str) and info.scenario not in (None, scenario):
        raise RunFolderError(f"{run_dir} is a run of {info.scenario}, not {scenario}")


def clear_run(run_dir: str) -> None:
    """Removes what a run wrote in ``run_dir`` (``RUN_CONTENTS``), nothing else."""
    from tf_maddpg.runs.atomic import remove

    for name in RUN_CONTENTS:
        remove(os.path.join(run_dir, name))


def remove_debris(run_dir: str) -> None:
    """Cleans up after a run killed mid-write: removes temporary files and folders
    (``*.tmp-<pid>*``), TensorFlow's unfinished ``*_temp`` checkpoint parts and its
    temporary checkpoint index (``checkpoint.tmp<hex>``), and puts back a folder caught
    between its two renames (``X.old`` without ``X``)."""
    import glob

    from tf_maddpg.runs.atomic import remove

    for pattern in ("*.tmp-*", os.path.join(CHECKPOINT_DIR, "*.tmp-*"),
                    os.path.join(CHECKPOINT_DIR, "*_temp*"),
                    os.path.join(CHECKPOINT_DIR, "checkpoint.tmp*")):
        for path in glob.glob(os.path.join(run_dir, pattern)):
            remove(path)
    for old in glob.glob(os.path.join(run_dir, "*.old")):
        if os.path.exists(old[: -len(".old")]):
            remove(old)
        else:
            os.replace(old, old[: -len(".old")])


class RunLock:
    """Holds a run folder for one process: an exclusive ``fcntl`` lock on RUN_DIR/.lock.

    A second process that trains in the same folder (say a second ``--resume``)
    is refused with the holder's process id. The lock goes with the process,
    however it ends.

    Raises:
      RunFolderError: another process holds the folder, or it cannot be written.
    """

    def __init__(self, run_dir: str):
        self.run_dir = run_dir
        self._fd = None

    def __enter__(self):
        import fcntl

        path = os.path.join(self.run_dir, LOCK_FILE)
        try:
            os.makedirs(self.run_dir, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise RunFolderError(f"cannot write the run folder {self.run_dir}: "
                                 f"{error.strerror}; choose another output folder") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunFolderError(f"{self.run_dir} is in use by another tf-maddpg process "
                                 f"(pid {holder}); wait for it to end or stop it") from None
        try:  # the holder's pid, for the message of a second process; a full disk may refuse it
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass
        self._fd = fd
        return self

    def __exit__(self, *exc):
        import fcntl

        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def check_same_agents(run_dir: str, saved: List[AgentSpec], current) -> None:
    """Raises ``RunFolderError`` when the environment's agents differ from the run's."""
    current = list(current)
    if saved != current:
        def describe(specs):
            return ", ".join(f"{s.name} (obs {s.obs_dim}, "
                             f"{'Discrete' if s.discrete else 'Box'} {s.action_dim})"
                             for s in specs)
        raise RunFolderError(
            f"{run_dir} was trained with agents {describe(saved)}, but this environment has "
            f"{describe(current)}; resume it with the scenario and options it was started with")


def _tuple(value):
    return None if value is None else tuple(value)


def _write_json(path: str, value) -> None:
    from tf_maddpg.runs.atomic import replacing

    with replacing(path) as temporary, open(temporary, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def prepare_run_folder(out_dir: Optional[str], config: RunConfig, scenario, env_kwargs,
                       resume: bool, overwrite: bool) -> Optional[RunInfo]:
    """Checks the run folder before a run starts; removes nothing.

    Returns:
      The RunInfo of the run being resumed, or None for a new run. A resumed
      run that never wrote a checkpoint starts again from the beginning.

    Raises:
      RunFolderError: resuming a folder that holds another run (scenario,
        options or a config that differs beyond ``RESUMABLE_FIELDS``), or a
        finished run whose checkpoints are gone (starting it again would
        delete its results);
        starting a run in a folder that holds one without ``overwrite``; or
        ``overwrite`` on a folder whose files are not a tf_maddpg run's.
    """
    if not out_dir:
        return None
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise RunFolderError(f"{out_dir} is a file, not a folder; choose another output folder")
    if resume:
        info = read_run(out_dir)
        if not has_checkpoint(out_dir) and os.path.exists(os.path.join(out_dir,
                                                                       SAVED_MODEL_DIR)):
            raise RunFolderError(
                f"{out_dir} holds a finished run ({SAVED_MODEL_DIR}/) but no checkpoint to "
                f"resume from ({CHECKPOINT_DIR}/ is missing or empty), so there is nothing "
                "to resume, and starting it again would delete its results; train into "
                "another folder, or replace this run with --overwrite")
        check_same_scenario(out_dir, info, scenario)
        if env_kwargs and dict(env_kwargs) != info.env_kwargs:
            raise RunFolderError(f"{out_dir} was run with scenario options "
                                 f"{info.env_kwargs}, not {dict(env_kwargs)}")
        saved, given = info.config.to_dict(), config.to_dict()
        changed = [f"{k} ({saved.get(k)!r} -> {given.get(k)!r})"
                   for k in changed_fields(saved, given)]
        if changed:
            raise RunFolderError(
                f"resuming {out_dir} with a different config: {', '.join(changed)}; only "
                f"{listed(RESUMABLE_FIELDS)} may change (start a new run to change "
                "anything else)")
        return info
    if holds_run(out_dir):
        if not overwrite:
            raise RunFolderError(
                f"{out_dir} already holds a run; continue it with --resume {out_dir} "
                "(resume=True), replace it with --overwrite, or choose another output folder")
        if not is_tf_maddpg_run(out_dir):
            present = [name for name in RUN_CONTENTS if os.path.lexists(os.path.join(out_dir,
                                                                                      name))]
            raise RunFolderError(
                f"{out_dir} holds {', '.join(present)} but no run.json of a tf_maddpg run; "
                "--overwrite replaces only a tf_maddpg run, so choose another output folder")
    return None

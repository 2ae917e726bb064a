"""One trial of a sweep, whichever engine runs it: its run folder, whether it has
finished, and running it with ``train``; and the sweep's record of its trials.

A trial is idempotent: a finished run folder is skipped, a stopped one
resumes from its newest checkpoint (``train(resume=True)``), anything else
starts. So a sweep that is started again, or resumed, ends with the same
folders as one that never stopped (runs are deterministic per seed).
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import re
from typing import Callable, Dict, List, Optional

from tf_maddpg.sweep.spec import SweepSpec, Trial

SPEC_FILE = "sweep.yaml"
"""The sweep's file as it was checked (every default written out), in the sweep folder."""
RECORD_FILE = "sweep.json"
"""Every trial of the sweep with its status and, for a failed one, its error."""

DONE, FAILED, STOPPED, UNFINISHED = "done", "failed", "stopped early", "unfinished"


class TrialError(RuntimeError):
    """A trial could not run: its config is refused, or its run folder holds another run."""


@dataclasses.dataclass
class TrialRecord:
    """What a sweep knows of one trial (a row of sweep.json).

    Attributes:
      folder: the run folder, relative to the sweep folder.
      scenario, algorithm: the entries' names; seed: the seed.
      options: the values of the options the sweep varies.
      status: ``done`` (the run ended), ``failed`` (see ``error``), ``stopped
        early`` (by the scheduler), ``unfinished`` (the sweep stopped first).
      error: the failure's last line.
      episode: the run's newest evaluation; mean_return: its mean over agents.
    """

    folder: str
    scenario: str
    algorithm: str
    seed: int
    options: Dict[str, object]
    status: str
    error: str = ""
    episode: int = 0
    mean_return: Optional[float] = None


def record_of(spec: SweepSpec, root: str, trial: Trial, error: str = "") -> TrialRecord:
    """The trial's record, its status read from its run folder (``error``: it failed)."""
    from tf_maddpg.runs.metrics import MetricsError, read_metrics

    folder = spec.folder(trial)
    run_dir = os.path.join(root, folder)
    rows = []
    try:
        rows = read_metrics(os.path.join(run_dir, "metrics.csv"))
    except (OSError, MetricsError):
        pass
    if error:
        status = FAILED
    elif finished(run_dir, spec.field(trial, "num_episodes")):
        status = DONE
    else:
        status = STOPPED if spec.scheduler is not None and rows else UNFINISHED
    last = tune_metrics(rows[-1]) if rows else {}
    return TrialRecord(folder, trial.scenario, trial.algorithm, trial.seed,
                       {k: list(v) if isinstance(v, tuple) else v for k, v in trial.chosen},
                       status, error, int(last.get("episode", 0)), last.get("mean_return"))


def write_records(root: str, records: List[TrialRecord]) -> None:
    """Writes sweep.json (under a temporary name, then renamed)."""
    from tf_maddpg.runs.atomic import replacing

    with replacing(os.path.join(root, RECORD_FILE)) as temporary, open(temporary, "w") as f:
        json.dump({"trials": [dataclasses.asdict(r) for r in records]}, f, indent=2)
        f.write("\n")


def read_records(root: str) -> List[TrialRecord]:
    """The records of sweep.json; [] without one, and [] with a warning for a damaged one
    (cut short by a full disk, edited): a grid's trials are read from their run folders."""
    import warnings

    path = os.path.join(root, RECORD_FILE)
    try:
        with open(path) as f:
            return [TrialRecord(**r) for r in json.load(f)["trials"]]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, TypeError, KeyError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        warnings.warn(f"{path} is damaged ({type(error).__name__}: {reason}); the trials' "
                      "status is read from their run folders, and the next sweep --resume "
                      "rewrites it", RuntimeWarning, stacklevel=2)
        return []


# --- A run folder's state ------------------------------------------------------------------

def newest_checkpoint(run_dir: str) -> int:
    """The episode of the run's newest checkpoint (checkpoints/ckpt-<episode>.index), 0
    without one."""
    numbers = [int(m.group(1)) for path in
               glob.glob(os.path.join(glob.escape(run_dir), "checkpoints", "ckpt-*.index"))
               if (m := re.fullmatch(r"ckpt-(\d+)\.index", os.path.basename(path)))]
    return max(numbers, default=0)


def finished(run_dir: str, num_episodes: int) -> bool:
    """Whether the run has ended at ``num_episodes``: its newest checkpoint is of that
    episode and its SavedModels (written last) were written after it."""
    episode = newest_checkpoint(run_dir)
    if episode != num_episodes:
        return False
    try:
        saved = os.path.getmtime(os.path.join(run_dir, "saved_model", "metadata.json"))
        return saved >= os.path.getmtime(os.path.join(run_dir, "checkpoints",
                                                      f"ckpt-{episode}.index"))
    except OSError:
        return False


# --- Running a trial -----------------------------------------------------------------------

def tune_metrics(row: Dict[str, float]) -> Dict[str, float]:
    """What a trial reports at each evaluation: the metrics row's counters and returns
    (``return/<agent>``), their mean over agents (``mean_return``) and each agent
    group's mean (``group/<group>``: agents whose names differ only by their number)."""
    from tf_maddpg.algorithms.teams import groups

    names = [k[len("return/"):] for k in row if k.startswith("return/")]
    out = {k: row[k] for k in ("episode", "env_steps", "wall_s") if k in row}
    out.update({f"return/{n}": float(row[f"return/{n}"]) for n in names})
    out["mean_return"] = float(sum(row[f"return/{n}"] for n in names) / max(len(names), 1))
    for group, members in groups(names).items():
        out[f"group/{group}"] = float(sum(row[f"return/{n}"] for n in members) / len(members))
    return out


def run_trial(spec: SweepSpec, root: str, trial: Trial,
              report: Optional[Callable[[Dict[str, float]], None]] = None,
              threads: Optional[int] = None) -> str:
    """Runs one trial into its run folder under ``root``; returns ``"skipped"`` (it had
    finished), ``"done"`` or ``"interrupted"`` (Ctrl-C, after a checkpoint).

    Args:
      spec: the sweep.
      root: the sweep folder (absolute on a cluster: every machine's path to it).
      trial: which trial.
      report: called with ``tune_metrics`` of each evaluation as it happens (of
        the last one for a trial that had finished).
      threads: TensorFlow's intra- and inter-op threads (the trial's CPUs).

    Raises:
      TrialError: the trial's config is refused, or its folder holds another run.
      Whatever ``train`` raises (FloatingPointError, CheckpointError, ...).
    """
    from tf_maddpg.algorithms.registry import config_from_dict
    from tf_maddpg.runs.metrics import MetricsError, read_metrics

    folder = spec.folder(trial)
    out_dir = os.path.join(root, folder)
    try:
        config = config_from_dict(spec.config_values(trial))
    except (ValueError, TypeError) as error:
        raise TrialError(str(error)) from None
    if finished(out_dir, config.num_episodes):
        if report is not None:
            try:
                rows = read_metrics(os.path.join(out_dir, "metrics.csv"))
            except (OSError, MetricsError):
                rows = []
            if rows:
                report({**tune_metrics(rows[-1]), "skipped": 1})
        return "skipped"

    _load_tensorflow(threads)
    from tf_maddpg.runs.folder import CONFIG_FILE, RUN_FILE, RunFolderError
    from tf_maddpg.training import train

    entry = spec.scenario_of(trial)
    resume = all(os.path.exists(os.path.join(out_dir, f)) for f in (CONFIG_FILE, RUN_FILE))
    try:
        result = train(config, entry.scenario, env_kwargs=dict(entry.env_args) or None,
                       out_dir=out_dir, verbose=False, resume=resume, overwrite=not resume,
                       on_evaluation=None if report is None else
                       (lambda row: report(tune_metrics(row))))
    except RunFolderError as error:
        raise TrialError(str(error)) from None
    return "interrupted" if result.interrupted else "done"


def _load_tensorflow(threads: Optional[int]):
    """TensorFlow, quiet, with ``threads`` threads and GPU memory taken as needed (so
    that trials can share a GPU: --gpus-per-trial 0.5)."""
    from tf_maddpg.runtime import load_tensorflow, quiet_tensorflow, set_tensorflow_threads

    quiet_tensorflow()
    tf = load_tensorflow()
    if threads:
        set_tensorflow_threads(tf, threads)  # a worker's later trials keep its first pools
    try:
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
    except (RuntimeError, ValueError):
        pass  # TensorFlow has started in this process already: its settings stay
    return tf


def error_line(text: str) -> str:
    """The line that says what went wrong, out of an error's text (a traceback from
    Ray included): its last ``SomeError: message`` line, module path left out."""
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    for line in reversed(lines):
        match = re.match(r"^(?:[\w.]+\.)?(\w*(?:Error|Exception|Interrupt)): (.*)$", line)
        if match:
            name, message = match.groups()
            return message if name == "TrialError" else f"{name}: {message}"
    return lines[-1] if lines else "unknown error"

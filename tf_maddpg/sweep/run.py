"""``run_sweep``: a sweep from its file to its run folders, its record and its report,
on Ray Tune or (``engine="local"``) on this machine without Ray."""

from __future__ import annotations

import dataclasses
import os
from typing import List, Optional

from tf_maddpg.sweep.errors import RayMissing
from tf_maddpg.sweep.spec import SweepSpec
from tf_maddpg.sweep.trial import SPEC_FILE, TrialRecord

INSTALL = 'pip install -e ".[ray]"'
ENGINES = ("ray", "local")


@dataclasses.dataclass
class SweepResult:
    """What ``run_sweep`` returns: every trial's record (sweep.json's), and whether the
    sweep stopped before its end (Ctrl-C); ``failed`` lists the failed trials."""

    records: List[TrialRecord]
    interrupted: bool

    @property
    def failed(self) -> List[TrialRecord]:
        return [r for r in self.records if r.status == "failed"]


def run_sweep(spec: SweepSpec, out_dir: str, *, resume: bool = False, engine: str = "ray",
              address: Optional[str] = None, cpus_per_trial: float = 1,
              gpus_per_trial: float = 0, max_concurrent: Optional[int] = None,
              report: bool = True, verbose: bool = True) -> SweepResult:
    """Runs a sweep into ``out_dir``: DIR/sweep.yaml, one run folder per trial,
    DIR/sweep.json (each trial's status) and, at the end, DIR/report.md with the curves.

    Args:
      spec: the sweep (``read_spec``).
      out_dir: the sweep folder.
      resume: continue the sweep that ``out_dir`` holds (``spec`` is its
        sweep.yaml): finished trials are skipped, stopped ones resume from their
        checkpoints.
      engine: ``"ray"`` (Ray Tune) or ``"local"`` (grids only: the trials in
        fresh processes on this machine, ``max_concurrent`` at a time).
      address: a Ray cluster (``auto``, ``ray://host:10001``); None: Ray in this
        process with this machine's CPUs.
      cpus_per_trial, gpus_per_trial: resources of each trial (TensorFlow
        threads: the CPUs).
      max_concurrent: the most trials at once (Ray: as resources allow; local: 1).
      report: write the report at the end.

    Raises:
      RayMissing: engine ``"ray"`` without Ray Tune installed.
      RayConnectError: Ray could not start, or the cluster could not be reached.
      ValueError: engine ``"local"`` with search spaces or a scheduler.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    if engine == "local" and (spec.sampled or spec.scheduler is not None):
        raise ValueError("the local engine runs grids only; search spaces and schedulers "
                         "need Ray Tune (engine ray)")
    if engine == "ray":
        tune = ray_engine()
    root = os.path.abspath(out_dir)
    os.makedirs(root, exist_ok=True)
    if engine == "ray":
        with tune.ray_session(address):
            if not resume:
                _write_spec(spec, root)
            records, interrupted = tune.run_tune(spec, root, resume=resume,
                                                 cpus_per_trial=cpus_per_trial,
                                                 gpus_per_trial=gpus_per_trial,
                                                 max_concurrent=max_concurrent,
                                                 verbose=verbose)
    else:
        from tf_maddpg.sweep.local import run_local

        if not resume:
            _write_spec(spec, root)
        records, interrupted = run_local(spec, root, jobs=max_concurrent or 1,
                                         threads=max(1, int(cpus_per_trial)), verbose=verbose)
    if report and not interrupted:
        from tf_maddpg.sweep.report import write_report

        write_random_returns(spec, root)
        write_report(root)
    return SweepResult(records, interrupted)


def default_engine() -> str:
    """``"ray"`` where Ray Tune is installed, else ``"local"``."""
    import importlib.util

    return "ray" if importlib.util.find_spec("ray") is not None else "local"


def ray_engine():
    """``tf_maddpg.sweep.tune`` (which imports Ray Tune).

    Raises:
      RayMissing: Ray Tune is not installed (the message names the install command).
    """
    try:
        from tf_maddpg.sweep import tune
    except ImportError as error:
        if "ray" not in str(error).lower():
            raise
        raise RayMissing(f"Ray Tune is not installed: {INSTALL} (or pip install "
                         "\"ray[tune]>=2.60,<2.61\"); or run without Ray: --engine local") \
            from None
    return tune


def write_random_returns(spec: SweepSpec, root: str) -> None:
    """Measures, once per scenario of the sweep, the return of uniformly random actions
    (the report's baseline: ``training.baselines.random_returns``) into
    DIR/<scenario>/random.json; a scenario measured before is skipped."""
    import json

    from tf_maddpg.runs.atomic import replacing
    from tf_maddpg.runtime import load_tensorflow
    from tf_maddpg.sweep.report import RANDOM_FILE

    for entry in spec.scenarios:
        path = os.path.join(root, entry.name, RANDOM_FILE)
        if os.path.exists(path):
            continue
        load_tensorflow()  # quietly, after quiet_tensorflow()
        from tf_maddpg.training.baselines import RANDOM_EPISODES, random_returns

        cell = next(t for t in spec.cells() if t.scenario == entry.name)
        length = int(spec.field(cell, "episode_length"))
        returns = random_returns(entry.scenario, entry.env_args, RANDOM_EPISODES, length)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with replacing(path) as temporary, open(temporary, "w", encoding="utf-8") as f:
            json.dump({"scenario": entry.scenario, "env_args": entry.env_args,
                       "episode_length": length, "episodes": RANDOM_EPISODES,
                       "returns": returns}, f, indent=1)


def _write_spec(spec: SweepSpec, root: str) -> None:
    import yaml

    from tf_maddpg.runs.atomic import replacing

    with replacing(os.path.join(root, SPEC_FILE)) as temporary, open(temporary, "w") as f:
        f.write("# The sweep as tf-maddpg sweep read it (every default written out); "
                "--resume reads it back.\n")
        yaml.safe_dump(spec.to_dict(), f, sort_keys=False, default_flow_style=None)

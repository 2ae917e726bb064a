"""Sweeps: many runs (scenarios x algorithms x seeds x options, grids or search
spaces) on Ray Tune, each an ordinary run folder; resumable; with a report.

    spec.py    the sweep file: its format, checks, trials and their folders, the agent
               groups (no Ray, no TensorFlow)
    trial.py   one trial, whichever engine runs it: skip, resume or start its run
    tune.py    the Ray Tune engine (local Ray, or a cluster)
    local.py   the engine without Ray: the grid on this machine
    run.py     run_sweep: the file, the engine, the record, the report
    errors.py  what starting Ray can fail with (RayMissing, RayConnectError)
    report.py  the table and the curves (and what the results scripts share)

``tf-maddpg sweep`` is the command line; docs/sweeps.md the guide.
"""

from tf_maddpg.sweep.errors import RayMissing
from tf_maddpg.sweep.run import SweepResult, run_sweep
from tf_maddpg.sweep.spec import SpecError, SweepSpec, parse_spec, read_spec

__all__ = ["RayMissing", "SpecError", "SweepResult", "SweepSpec", "parse_spec", "read_spec",
           "run_sweep", "write_report"]


def write_report(root: str, **kwargs) -> str:
    """``tf_maddpg.sweep.report.write_report`` (imported on first use: matplotlib)."""
    from tf_maddpg.sweep.report import write_report as write

    return write(root, **kwargs)

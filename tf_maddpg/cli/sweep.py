"""``tf-maddpg sweep``: its options, and the command (run a sweep file, resume a sweep,
report on one). The sweep itself is ``tf_maddpg.sweep``."""

from __future__ import annotations

import os
import sys

from tf_maddpg.cli.argtypes import positive_float, positive_int
from tf_maddpg.cli.errors import BadInput, CommandError

DESCRIPTION = """\
Run many trainings as one sweep: the sweep file names scenarios, algorithms,
seeds and train options, as values, lists (a grid) or search spaces
({uniform: [a, b]}, {loguniform: [a, b]}, {randint: [a, b]}, {choice: [...]},
with num_samples), and optionally an early-stopping scheduler (ASHA on an
evaluation return). Ray Tune runs the trials: in this process on this
machine's CPUs, or on a cluster with --address. Each trial is an ordinary run
folder, DIR/SCENARIO/ALGO[-OPTIONS]/seedSEED, so evaluate, export, plot and
train --resume work on it. At the end: DIR/report.md (each agent group's final
return, mean and std over seeds, beside a random policy; every trial's status)
and the curves DIR/SCENARIO/ALGO.png. docs/sweeps.md has the file format.

Needs Ray Tune (pip install -e ".[ray]") except with --engine local, which
runs a grid on this machine, --max-concurrent trials at a time.

examples:
  tf-maddpg sweep sweep.yaml --out runs/sweep
  tf-maddpg sweep --resume runs/sweep              # after Ctrl-C or a crash
  tf-maddpg sweep --report runs/sweep              # the table and curves, any time
  tf-maddpg sweep sweep.yaml --out /shared/sweep --address auto --cpus-per-trial 2
  tf-maddpg sweep sweep.yaml --out runs/sweep --engine local --max-concurrent 2

sweep.yaml:
  scenarios: [simple_spread_v3]
  algorithms: [maddpg, matd3]
  seeds: [0, 1, 2]
  options: {episodes: 10000, eval_interval: 200, batch_size: [512, 1024]}
"""


def add_sweep_command(command) -> None:
    """Adds ``sweep`` with ``command(name, function, help, description)`` (the parser's)."""
    sweep = command("sweep", _sweep, "run a sweep of trainings on Ray Tune, resume it, "
                    "report on it", DESCRIPTION)
    sweep.add_argument("file", nargs="?", metavar="SWEEP.yaml",
                       help="the sweep file (YAML or JSON; see docs/sweeps.md)")
    sweep.add_argument("--out", metavar="DIR", help="the sweep folder (with SWEEP.yaml)")
    sweep.add_argument("--resume", metavar="DIR",
                       help="continue the sweep in DIR: finished trials are skipped, stopped "
                            "ones resume from their checkpoints, failed ones run again")
    sweep.add_argument("--report", metavar="DIR",
                       help="only write DIR/report.md and the curves (any time, even while "
                            "the sweep runs)")
    sweep.add_argument("--engine", choices=("ray", "local"), default="ray",
                       help="ray: Ray Tune (default); local: without Ray, a grid's trials "
                            "on this machine")
    sweep.add_argument("--address", metavar="ADDRESS",
                       help="a running Ray cluster: auto (this machine belongs to it), or "
                            "ray://HOST:10001 (default: Ray in this process, this machine's "
                            "CPUs)")
    sweep.add_argument("--cpus-per-trial", type=positive_float, default=1.0, metavar="N",
                       help="CPUs of each trial; its TensorFlow threads (default: 1)")
    sweep.add_argument("--gpus-per-trial", type=_gpus, default=0.0, metavar="N",
                       help="GPUs of each trial, 0.5 for two trials per GPU (default: 0; a "
                            "trial without one does not see the GPUs)")
    sweep.add_argument("--max-concurrent", type=positive_int, default=None, metavar="N",
                       help="the most trials at once (default: as the resources allow; 1 "
                            "with --engine local)")
    sweep.add_argument("--quiet", action="store_true", help="no line per trial")


def _gpus(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, not {text!r}")
    return value


def _sweep(args, parser) -> int:
    from tf_maddpg.sweep.spec import SpecError, check_grid, read_spec
    from tf_maddpg.sweep.trial import SPEC_FILE

    modes = [m for m in ("file", "resume", "report") if getattr(args, m)]
    if args.file and (args.resume or args.report):
        raise BadInput("give SWEEP.yaml with --out, or --resume DIR, or --report DIR: one "
                       "of them")
    if len(modes) != 1:
        raise BadInput("give SWEEP.yaml with --out DIR (a new sweep), --resume DIR or "
                       "--report DIR")
    if args.report:
        return _report(args.report)
    if args.file and not args.out:
        raise BadInput("give the sweep folder: --out DIR")
    if args.resume and args.out:
        raise BadInput("--resume DIR continues the sweep in DIR; --out is not needed")
    if args.engine == "local" and (args.address or args.gpus_per_trial):
        raise BadInput("--address and --gpus-per-trial are Ray's; --engine local runs on "
                       "this machine's CPUs")

    root = args.out or args.resume
    spec_path = args.file or os.path.join(root, SPEC_FILE)
    if args.resume and not os.path.exists(spec_path):
        raise BadInput(f"{root} holds no sweep ({SPEC_FILE}); give the folder of a "
                       "`tf-maddpg sweep ... --out DIR`")
    try:
        spec = read_spec(spec_path)
    except SpecError as error:
        raise BadInput(str(error)) from None
    if args.engine == "local" and (spec.sampled or spec.scheduler is not None):
        raise BadInput(f"{spec_path} has search spaces or a scheduler, which need Ray Tune; "
                       "--engine local runs grids only")
    if args.file and os.path.exists(os.path.join(root, SPEC_FILE)):
        raise BadInput(f"--out {root} holds a sweep already; continue it with `tf-maddpg "
                       f"sweep --resume {root}`, or give another --out")
    _check_scenarios(spec, spec_path)
    from tf_maddpg.cli.outputs import check_writable_folder

    check_writable_folder(root, "--out" if args.out else "--resume")
    for trial, reason in check_grid(spec):
        print(f"tf-maddpg sweep: warning: trial {spec.folder(trial)} will fail: {reason}",
              file=sys.stderr)

    from tf_maddpg.sweep.errors import RayConnectError, RayMissing
    from tf_maddpg.sweep.run import run_sweep

    try:
        result = run_sweep(spec, root, resume=bool(args.resume), engine=args.engine,
                           address=args.address, cpus_per_trial=args.cpus_per_trial,
                           gpus_per_trial=args.gpus_per_trial,
                           max_concurrent=args.max_concurrent, verbose=not args.quiet)
    except (RayMissing, RayConnectError) as error:
        raise CommandError(str(error)) from None
    except KeyboardInterrupt as error:
        from tf_maddpg.signals import EXIT_STATUS, stop_name

        print(f"tf-maddpg sweep: stopped by {stop_name(error)}; continue with: tf-maddpg "
              f"sweep --resume {root}", file=sys.stderr)
        return EXIT_STATUS[stop_name(error)]
    counts = {}
    for record in result.records:
        counts[record.status] = counts.get(record.status, 0) + 1
    print(f"{len(result.records)} trials: "
          + ", ".join(f"{n} {status}" for status, n in counts.items()))
    for record in result.failed:
        print(f"tf-maddpg sweep: failed: {record.folder}: {record.error}", file=sys.stderr)
    if result.interrupted:
        print(f"stopped; continue with: tf-maddpg sweep --resume {root}", file=sys.stderr)
        return 130
    print(f"wrote {os.path.join(root, 'report.md')} and the curves; runs in {root}")
    return 1 if result.failed else 0


def _check_scenarios(spec, spec_path: str) -> None:
    """Every scenario runs with its env_args, and the scheduler's metric names agents
    (or groups) that every scenario has."""
    from tf_maddpg.algorithms.teams import groups
    from tf_maddpg.cli.configs import check_scenario

    for entry in spec.scenarios:
        cell = next(t for t in spec.cells() if t.scenario == entry.name)
        try:
            specs = check_scenario(entry.scenario, entry.env_args,
                                   int(spec.field(cell, "episode_length")))
        except (ValueError, TypeError) as error:
            raise BadInput(f"{spec_path}: scenario {entry.name} cannot run with env_args "
                           f"{entry.env_args}: mpe2 fails with {error}") from None
        metric = spec.scheduler.metric if spec.scheduler else "mean_return"
        names = [s.name for s in specs]
        known = (["mean_return"] + [f"return/{n}" for n in names]
                 + [f"group/{g}" for g in groups(names)])
        if metric not in known:
            raise BadInput(f"{spec_path}: scheduler: asha: metric {metric} is not reported by "
                           f"scenario {entry.name}, which reports {', '.join(known)}")


def _report(root: str) -> int:
    from tf_maddpg.sweep.spec import SpecError
    from tf_maddpg.sweep.trial import SPEC_FILE

    if not os.path.exists(os.path.join(root, SPEC_FILE)):
        raise BadInput(f"{root} holds no sweep ({SPEC_FILE}); give the folder of a "
                       "`tf-maddpg sweep ... --out DIR`")
    from tf_maddpg.sweep.report import write_report

    try:
        text = write_report(root)
    except SpecError as error:
        raise CommandError(f"{error}; was it edited?") from None
    print(text, end="")
    print(f"wrote {os.path.join(root, 'report.md')} and the curves")
    return 0

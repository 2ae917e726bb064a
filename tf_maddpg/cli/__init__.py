"""The ``tf-maddpg`` command: train, evaluate, export, plot, list-envs, compare, sweep.

Every algorithm of the registry (``tf_maddpg.algorithms.registry``) trains
with ``--algo NAME``; its configuration's fields are the options of ``train``.

    tf-maddpg train simple_adversary_v3 --episodes 5000 --seed 0 --out runs/adv
    tf-maddpg train simple_spread_v3 --algo matd3 --env-arg N=4 --env-arg continuous_actions=true
    tf-maddpg train --resume runs/adv --episodes 8000
    tf-maddpg evaluate runs/adv --episodes 100 --render adv.gif --render-episodes 3
    tf-maddpg export runs/adv --out exported/adv
    tf-maddpg plot runs/adv runs/adv1 --out returns.png
    tf-maddpg list-envs
    tf-maddpg sweep sweep.yaml --out runs/sweep    (Ray Tune; docs/sweeps.md)

Exit status: 0 done; 1 a run failed, or a run folder (RUN_DIR) cannot be used
(the message says why); 2 bad command-line input: an unknown option, a value
out of range, a --config file that cannot be read, an output (--out,
--render) that cannot be written; 130 stopped by Ctrl-C, 143 stopped by
SIGTERM (a timeout, docker stop, Slurm), which is handled as Ctrl-C: a run
finishes its episode and saves a checkpoint. Every error, warning and stop is
one line (with a hint to --help for status 2); none prints a traceback. A
closed or broken standard output (cron, a daemon, `| head`) stops nothing.

Everything given on the command line is checked before TensorFlow is
loaded, so a usage error answers at once. TensorFlow's startup messages are
hidden unless ``--verbose-tf`` is given or ``TF_CPP_MIN_LOG_LEVEL`` is set to
0 or 1.

The package, one module per idea: ``parser`` (the commands, their options and
help texts), ``argtypes`` (the option types), ``startup`` (standard streams that
never stop a command; TensorFlow kept quiet and unloaded is ``tf_maddpg.runtime``),
the checks of every input before anything runs (``configs``: the config, scenario
options and a new run; ``outputs``: what a command writes; ``run_dirs``: reading
RUN_DIR), ``commands`` (one function per command), ``messages`` (the command line's
words), ``errors`` (``CommandError``, ``BadInput``), ``sweep`` (the sweep command
and its options).
"""

from __future__ import annotations

import signal
import sys
import warnings
from collections.abc import Sequence

from tf_maddpg.lazy import lazy_exports

_EXPORTS = {
    "tf_maddpg.cli.configs": ("check_scenario", "config_from", "default_run_dir",
                              "env_kwargs_from", "short_run_warnings"),
    "tf_maddpg.cli.errors": ("BadInput", "CommandError"),
    "tf_maddpg.cli.parser": ("build_parser",),
    "tf_maddpg.runs.folder": ("run_episode",),
    "tf_maddpg.runtime": ("load_tensorflow", "quiet_tensorflow"),
}
# Imported on first use: importing ``main`` (the ``tf-maddpg`` script does first thing)
# loads nothing a Ctrl-C could interrupt outside main's own care.
__getattr__ = lazy_exports(__name__, globals(), _EXPORTS)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status.

    Usage errors (unknown options, bad values) print one line and a hint to
    stderr and exit with status 2 (``SystemExit``), before TensorFlow is loaded.
    Ctrl-C anywhere prints one line and returns 130; SIGTERM is handled as
    Ctrl-C (a run saves its checkpoint) and returns 143. Warnings are one line
    each. A closed or broken standard output stops nothing.
    """
    from tf_maddpg.signals import (EXIT_STATUS, forget_interrupt, stop_name,
                                   terminate_as_interrupt)

    name = {"command": "tf-maddpg"}
    previous = terminate_as_interrupt()
    try:
        try:  # Ctrl-C while the command line's own modules load: one line too
            from tf_maddpg.cli.startup import sturdy_output
        except KeyboardInterrupt as error:
            print(f"{name['command']}: stopped by {stop_name(error)}", file=sys.stderr)
            return EXIT_STATUS[stop_name(error)]
        with sturdy_output(), warnings.catch_warnings():
            warnings.showwarning = lambda message, *_, **__: print(
                f"{name['command']}: warning: {message}", file=sys.stderr)
            try:
                return _run(argv, name)
            except KeyboardInterrupt as error:
                stopped = stop_name(error)
                detail = f": {error}" if str(error) else ""
                print(f"{name['command']}: stopped by {stopped}{detail}", file=sys.stderr)
                return EXIT_STATUS[stopped]
    finally:
        forget_interrupt()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(argv: Sequence[str] | None, name: dict) -> int:
    from tf_maddpg.cli.errors import CommandError
    from tf_maddpg.cli.parser import _COMMANDS, _hint, _unrecognized, build_parser
    from tf_maddpg.runtime import limit_blas_threads, quiet_tensorflow

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args, extra = parser.parse_known_args(argv)
    if not hasattr(args, "command"):
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        parser.error("give a command: " + ", ".join(_COMMANDS))
    name["command"] = f"tf-maddpg {args.command_name}"
    if extra:
        args.subparser.error(_unrecognized(args.subparser, extra))
    args.argv = argv
    if getattr(args, "threads", None):
        limit_blas_threads(args.threads)  # before NumPy loads
    quiet_tensorflow(verbose=args.verbose_tf)
    try:
        return args.command(args, args.subparser)
    except CommandError as error:
        print(f"tf-maddpg {args.command_name}: error: {error}", file=sys.stderr)
        if error.exit_status == 2:
            print(_hint(f"tf-maddpg {args.command_name}"), file=sys.stderr)
        return error.exit_status


__all__ = ["BadInput", "CommandError", "build_parser", "check_scenario", "config_from",
           "default_run_dir", "env_kwargs_from", "load_tensorflow", "main", "quiet_tensorflow",
           "run_episode", "short_run_warnings"]

"""The ``tf-maddpg`` argument parser: its commands, their options and help texts
(train's config options come from the registry's configs), and the option types."""

from __future__ import annotations

import argparse
import dataclasses
import re
import textwrap
from typing import Optional, Sequence

from tf_maddpg import __version__
from tf_maddpg.algorithms.registry import ALGORITHMS, describe, field_docs
from tf_maddpg.cli import argtypes
from tf_maddpg.cli.commands import _compare, _evaluate, _export, _list_envs, _plot, _train
from tf_maddpg.cli.messages import FLAG_ALIASES, plain
from tf_maddpg.config import MAX_SEED, RunConfig
from tf_maddpg.inputs import closest, show_value


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line and a hint, not the whole usage,
    and that reads every negative number as a value (``--actor-lr -1e-3``), where
    argparse takes ``-1e-3`` for an option."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n{_hint(self.prog)}\n")


_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _hint(prog: str) -> str:
    return f"  (see `{prog} --help` for the options)"


def _unrecognized(parser, extra: Sequence[str]) -> str:
    options = [o for action in parser._actions for o in action.option_strings]
    hints = []
    for item in extra:
        if item.startswith("--"):
            close = closest(item.split("=")[0], options, cutoff=0.75)
            if close:
                hints.append(f"{item} -> {close}?")
    return (f"unrecognized arguments: {' '.join(extra)}"
            + (f" (did you mean: {', '.join(hints)})" if hints else ""))


_COMMANDS = ("train", "evaluate", "export", "plot", "list-envs", "compare", "sweep")


def build_parser(argv: Optional[Sequence[str]] = None) -> argparse.ArgumentParser:
    """The ``tf-maddpg`` argument parser with every subcommand.

    Every algorithm's fields are options of ``train``; its help lists the run's own
    options and fields, and those of one algorithm when ``argv`` asks for
    ``train --algo NAME --help`` (``_help_algorithm``).
    """
    from tf_maddpg import cli  # its docstring's first paragraph describes the command

    parser = _Parser(
        prog="tf-maddpg", description=plain(cli.__doc__.split("\n\n")[0]),
        formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"tf-maddpg {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose-tf", action="store_true",
                        help="show TensorFlow's own startup and device messages (hidden by "
                             "default)")

    def command(name, function, help_text, description=None):
        p = sub.add_parser(name, help=help_text, description=description or help_text,
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           allow_abbrev=False, parents=[common])
        p.set_defaults(command=function, command_name=name, subparser=p)
        return p

    train = command("train", _train, "train an algorithm on an mpe2 scenario",
                    _TRAIN_DESCRIPTION)
    train.add_argument("env", nargs="?", metavar="ENV",
                       help="mpe2 scenario module, e.g. simple_adversary_v3 (see list-envs); "
                            "optional with --resume")
    train.add_argument("--config", metavar="FILE",
                       help="YAML or JSON file of config fields (the names below, with "
                            "underscores or dashes); command-line options override it")
    train.add_argument("--out", metavar="DIR",
                       help="run folder (default: runs/ENV/ALGO[-OPTIONS]/seedSEED, e.g. "
                            "runs/simple_spread_v3/matd3-N4/seed0)")
    train.add_argument("--resume", metavar="RUN_DIR",
                       help="continue a stopped run from its newest checkpoint; --episodes "
                            "then gives the new total; --env-workers and --jit-compile may change "
                            "too, no other config option")
    train.add_argument("--overwrite", action="store_true",
                       help="replace the run that the output folder already holds")
    train.add_argument("--quiet", action="store_true",
                       help="no progress bar and no table")
    train.add_argument("--threads", type=argtypes.positive_int, default=None, metavar="N",
                       help="TensorFlow's intra- and inter-op threads and NumPy's BLAS "
                            "threads (default: one per core); 1 when several runs share the "
                            "machine")
    train.add_argument("--algo", choices=list(ALGORITHMS), default=None,
                       help="the algorithm (default: the --config file's algo, else maddpg)")
    train.add_argument("--preset", metavar="NAME", default=None,
                       help="a published configuration of the algorithm, under --config and "
                            "the options: " + "; ".join(
                                f"--algo {a.name} --preset {p}" for a in ALGORITHMS.values()
                                for p in a.config_class.presets)
                            + " (each config class's presets)")
    _add_env_arg_option(train)
    shown = set()
    helped = _help_algorithm(argv)
    helped = helped if helped in ALGORITHMS else None
    fields = train.add_argument_group(
        "run fields", f"every algorithm's (defaults of --algo {helped})" if helped else
        "every algorithm's")
    _add_config_options(fields, RunConfig, shown, algo=helped)
    if helped is None:
        train.add_argument_group("algorithm fields", textwrap.fill(
            "each algorithm's own fields are options too: `tf-maddpg train --algo NAME "
            "--help` lists them with their defaults (NAME: " + ", ".join(ALGORITHMS) + ")",
            width=76))
    for algorithm in ALGORITHMS.values():
        if algorithm.name == helped:
            fields = train.add_argument_group(
                f"{algorithm.name} fields",
                f"with --algo {algorithm.name} ({algorithm.config_class.__name__})")
            _add_config_options(fields, algorithm.config_class, shown, algo=algorithm.name)
    for algorithm in ALGORITHMS.values():  # the others' are options, not shown in the help
        _add_config_options(train, algorithm.config_class, shown, hidden=True)

    evaluate = command("evaluate", _evaluate, "greedy returns of a run's actors, per agent")
    evaluate.add_argument("run_dir", metavar="RUN_DIR", help="a run folder")
    evaluate.add_argument("--episodes", type=argtypes.positive_int, default=None, metavar="N",
                          help="greedy episodes (default: the run's eval_episodes)")
    evaluate.add_argument("--seed", type=argtypes.seed, default=None,
                          help="seed of the first episode, the next ones count up (default: "
                               f"the run's evaluation seeds); 0 to {MAX_SEED}")
    evaluate.add_argument("--render", metavar="GIF",
                          help="also write an animated GIF of greedy episodes (a fixed "
                               "camera, every agent labelled)")
    evaluate.add_argument("--render-episodes", type=argtypes.positive_int, default=None, metavar="N",
                          help="episodes in the GIF, one after another (default: 1)")
    evaluate.add_argument("--fps", type=argtypes.positive_float, default=None, metavar="X",
                          help="frames per second of the GIF (default: 10)")

    export = command("export", _export, "write one TensorFlow SavedModel per agent actor")
    export.add_argument("run_dir", metavar="RUN_DIR", help="a run folder")
    export.add_argument("--out", metavar="DIR", required=True,
                        help="folder that receives one SavedModel per agent and metadata.json "
                             "(the scenario and its options)")

    plot = command("plot", _plot, "per-agent return curves of one run or of several seeds")
    plot.add_argument("run_dirs", metavar="RUN_DIR", nargs="+",
                      help="run folders; several are drawn as their mean with a min-max band, "
                           "up to the last evaluation that every run reached")
    plot.add_argument("--out", metavar="PNG", required=True,
                      help="image to write (.png, .pdf, .svg, ...)")
    plot.add_argument("--title", help="figure title (default: scenario, algorithm and seed)")

    command("list-envs", _list_envs, "the mpe2 scenarios, with agents and sizes")

    compare = command("compare", _compare, "train tf_maddpg and the PyTorch reference side by side",
                      _COMPARE_DESCRIPTION)
    compare.add_argument("env", metavar="ENV", help="mpe2 scenario module")
    compare.add_argument("--seeds", type=argtypes.seed, nargs="+", default=[0, 1, 2], metavar="S",
                         help="seeds; each side trains once per seed (default: 0 1 2)")
    compare.add_argument("--out", metavar="DIR", required=True,
                         help="folder for compare.png, compare.md and every run (a folder "
                              "that holds a comparison is refused without --overwrite)")
    compare.add_argument("--overwrite", action="store_true",
                         help="replace the comparison that --out holds")
    compare.add_argument("--jobs", type=argtypes.positive_int, default=1,
                         help="runs at once, each in its own process with one thread; sides "
                              "alternate so both see the same load (default: 1)")
    compare.add_argument("--engine", choices=("ray", "local"), default=None,
                         help="where the runs go: ray (each run a Ray task, as tf-maddpg "
                              "sweep's trials; on a cluster with --address) or local "
                              "(processes here) (default: ray where Ray is installed and "
                              "--jobs > 1 or --address is given, else local)")
    compare.add_argument("--address", metavar="ADDRESS",
                         help="a Ray cluster for --engine ray: auto, HOST:6379 or "
                              "ray://HOST:10001 (--out must be a folder every machine sees)")
    compare.add_argument("--config", metavar="FILE", help="YAML or JSON file of config fields")
    _add_env_arg_option(compare)
    fields = compare.add_argument_group("config fields (both sides)",
                                        "as for train; --seed is replaced by --seeds")
    _add_config_options(fields, ALGORITHMS["maddpg"].config_class, set(),
                        skip=("seed", "checkpoint_interval"))

    from tf_maddpg.cli.sweep import add_sweep_command

    add_sweep_command(command)
    return parser


_TRAIN_DESCRIPTION = """\
Train an algorithm (--algo, default maddpg) on an mpe2 scenario and write a
run folder: config.json, run.json, metrics.csv, returns.png, tensorboard/,
checkpoints/, actors/, saved_model/.

algorithms:
""" + describe() + """

Config fields come from, in rising priority: the algorithm's defaults (each
algorithm's published settings: MADDPG and MATD3 the PyTorch reference's,
IPPO and MAPPO the MAPPO repository's for MPE, HAPPO HARL's), --config FILE,
then the options below (an algorithm's own: tf-maddpg train --algo NAME --help).
Ctrl-C (or SIGTERM) once finishes the episode, saves a checkpoint and stops;
--resume continues.
A run too short to update (episodes x episode length below --minimal-size)
or to evaluate (--episodes below --eval-interval) is warned about before it
starts.

examples:
  tf-maddpg train simple_adversary_v3 --episodes 5000 --seed 0 --out runs/adv
  tf-maddpg train simple_spread_v3 --config my.yaml --eval-interval 50
  tf-maddpg train simple_tag_v3 --algo matd3 --env-arg terminate_on_success=true
  tf-maddpg train simple_spread_v3 --algo mappo --episodes 40000   # 1M env steps
  tf-maddpg train simple_spread_v3 --env-arg N=4 --env-arg continuous_actions=true
  tf-maddpg train simple_spread_v3 --num-envs 16 --env-workers 2   # both CPU cores
  tf-maddpg train --resume runs/adv --episodes 8000
"""


_COMPARE_DESCRIPTION = """\
Train tf_maddpg and our PyTorch reference (tf_maddpg.reference; needs
pip install torch==2.13.0) with the same settings, environments and seeds,
and write DIR/compare.png (per-agent evaluation return, both sides, mean and
band over seeds), DIR/compare.md (final returns, wall time, env steps/s,
seconds per update) and every run's metrics.csv under DIR/tf and DIR/torch.

With --jobs N the runs go N at a time, as Ray tasks where Ray is installed
(pip install -e ".[ray]"; on a cluster with --address, as tf-maddpg sweep),
else as processes on this machine.

examples:
  tf-maddpg compare simple_adversary_v3 --episodes 3000 --seeds 0 1 2 --out docs/compare/simple_adversary
  tf-maddpg compare simple_spread_v3 --seeds 0 1 2 3 4 5 --jobs 12 --address auto --out /shared/cmp
"""


# --- Config options ---------------------------------------------------------------------

def _add_env_arg_option(parser) -> None:
    parser.add_argument("--env-arg", dest="env_args", action="append", type=argtypes.env_arg, default=[],
                        metavar="KEY=VALUE",
                        help="a scenario option, repeatable: N=4, continuous_actions=true, "
                             "local_ratio=0.25 (values are Python literals or true/false; "
                             "an unknown key lists the scenario's options)")


def _help_algorithm(argv: Optional[Sequence[str]]) -> Optional[str]:
    """The algorithm whose fields ``train --help`` shows: NAME of ``--algo NAME`` when
    ``argv`` is ``train ... --help``, else None."""
    argv = list(argv or [])
    if not argv or argv[0] != "train" or not {"-h", "--help"} & set(argv):
        return None
    for k, item in enumerate(argv):
        if item == "--algo" and k + 1 < len(argv):
            return argv[k + 1]
        if item.startswith("--algo="):
            return item.split("=", 1)[1]
    return None


def _add_config_options(group, cls, shown: set, skip: Sequence[str] = (),
                        algo: Optional[str] = None, hidden: bool = False) -> None:
    """Adds an option for each field of ``cls`` that is not in ``shown`` (then marks it
    shown): its help gives ``algo``'s default (every algorithm's without it), or nothing
    with ``hidden``."""
    docs = field_docs(algo)
    for field in dataclasses.fields(cls):
        if field.name in skip or field.name in shown:
            continue
        shown.add(field.name)
        flags = FLAG_ALIASES.get(field.name, []) + ["--" + field.name.replace("_", "-")]
        kind = field.type
        default = (show_value(next(f.default for f in dataclasses.fields(ALGORITHMS[algo].config_class)
                               if f.name == field.name)) if algo else _defaults(field.name))
        help_text = argparse.SUPPRESS if hidden else (
            f"{plain(docs.get(field.name, ''))} (default: {default})".replace("%", "%%"))
        common = dict(dest=field.name, default=argparse.SUPPRESS, help=help_text)
        if kind == "bool":
            group.add_argument(*flags, type=argtypes.boolean, metavar="true|false", **common)
        elif kind == "int":
            group.add_argument(*flags, type=argtypes.integer, metavar="N", **common)
        elif kind == "float":
            group.add_argument(*flags, type=float, metavar="X", **common)
        elif kind == "Optional[float]":
            group.add_argument(*flags, type=argtypes.optional_float, metavar="X|none", **common)
        elif kind == "Tuple[int, ...]":
            group.add_argument(*flags, type=argtypes.integer, nargs="+", metavar="N", **common)
        else:
            # Every algorithm's values: the config refuses those its algorithm lacks.
            choices = [c for a in ALGORITHMS.values()
                       for c in a.config_class.choices.get(field.name, ())]
            group.add_argument(*flags, choices=list(dict.fromkeys(choices)) or None, **common)


def _defaults(name: str) -> str:
    """A field's default, or its default per algorithm where they differ:
    ``0.95 (maddpg, matd3), 0.99 (ippo, mappo, happo)``."""
    by_value = {}
    for algorithm in ALGORITHMS.values():
        fields = {f.name: f for f in dataclasses.fields(algorithm.config_class)}
        if name in fields:
            by_value.setdefault(show_value(fields[name].default), []).append(algorithm.name)
    if len(by_value) == 1:
        return next(iter(by_value))
    return ", ".join(f"{value} ({', '.join(names)})" for value, names in by_value.items())

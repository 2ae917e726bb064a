"""The ``tf-maddpg`` command: train, evaluate, export, plot, list-envs, compare.

Every algorithm of the registry (``tf_maddpg.algorithms.registry``) trains
with ``--algo NAME``; its configuration's fields are the options of ``train``.

    tf-maddpg train simple_adversary_v3 --episodes 5000 --seed 0 --out runs/adv
    tf-maddpg train simple_spread_v3 --algo matd3 --env-arg N=4 --env-arg continuous_actions=true
    tf-maddpg train --resume runs/adv --episodes 8000
    tf-maddpg evaluate runs/adv --episodes 100 --render adv.gif --render-episodes 3
    tf-maddpg export runs/adv --out exported/adv
    tf-maddpg plot runs/adv runs/adv1 --out returns.png
    tf-maddpg list-envs

Exit status: 0 done; 1 a run failed, or a run folder (RUN_DIR) cannot be used
(the message says why); 2 bad command-line input: an unknown option, a value
out of range, a --config file that cannot be read, an output (--out,
--render) that cannot be written; 130 stopped by Ctrl-C (after saving a
checkpoint). Every error is one line (with a hint to --help for status 2);
none prints a traceback.

Everything given on the command line is checked before TensorFlow is
loaded, so a usage error answers at once. TensorFlow's startup messages are
hidden unless ``--verbose-tf`` is given or ``TF_CPP_MIN_LOG_LEVEL`` is set to
0 or 1.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import difflib
import glob
import json
import math
import os
import re
import shlex
import sys
import tempfile
from typing import Dict, List, Optional, Sequence

from tf_maddpg import __version__
from tf_maddpg.algorithms.registry import ALGORITHMS, config_from_dict, describe, field_docs
from tf_maddpg.config import MAX_SEED, RESUMABLE_FIELDS, RunConfig

_ALIASES = {"num_episodes": ["--episodes"]}
_ALL_FIELDS = {f.name for a in ALGORITHMS.values() for f in dataclasses.fields(a.config_class)}
_IMAGE_TYPES = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".eps")


class CommandError(Exception):
    """A run could not be done; the message says why and what to do (exit status 1)."""

    exit_status = 1


class BadInput(CommandError):
    """The command line asks for something that cannot be done: an option's value, or a
    file or folder it names (exit status 2; the message says what to change)."""

    exit_status = 2


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command line; returns the exit status.

    Usage errors (unknown options, bad values) print one line and a hint to
    stderr and exit with status 2 (``SystemExit``), before TensorFlow is loaded.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if not hasattr(args, "command"):
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        parser.error("give a command: " + ", ".join(_COMMANDS))
    if extra:
        args.subparser.error(_unrecognized(args.subparser, extra))
    args.argv = argv
    quiet_tensorflow(verbose=args.verbose_tf)
    try:
        return args.command(args, args.subparser)
    except CommandError as error:
        print(f"tf-maddpg {args.command_name}: error: {error}", file=sys.stderr)
        if error.exit_status == 2:
            print(_hint(f"tf-maddpg {args.command_name}"), file=sys.stderr)
        return error.exit_status


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line and a hint, not the whole usage."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n{_hint(self.prog)}\n")


def _hint(prog: str) -> str:
    return f"  (see `{prog} --help` for the options)"


_COMMANDS = ("train", "evaluate", "export", "plot", "list-envs", "compare")


def build_parser() -> argparse.ArgumentParser:
    """The ``tf-maddpg`` argument parser with every subcommand."""
    parser = _Parser(
        prog="tf-maddpg", description=_plain(__doc__.split("\n\n")[0]),
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
                            "then gives the new total, and no other config option may change")
    train.add_argument("--overwrite", action="store_true",
                       help="replace the run that the output folder already holds")
    train.add_argument("--quiet", action="store_true",
                       help="no progress bar and no table")
    train.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                       help="TensorFlow's intra- and inter-op threads (default: one per core); "
                            "1 when several runs share the machine")
    train.add_argument("--algo", choices=list(ALGORITHMS), default=None,
                       help="the algorithm (default: the --config file's algo, else maddpg)")
    _add_env_arg_option(train)
    shown = set()
    fields = train.add_argument_group("run fields", "every algorithm's")
    _add_config_options(fields, RunConfig, shown)
    for algorithm in ALGORITHMS.values():
        fields = train.add_argument_group(
            f"{algorithm.name} fields",
            f"with --algo {algorithm.name} ({algorithm.config_class.__name__}); the fields "
            "listed above for another algorithm apply too, with its defaults")
        _add_config_options(fields, algorithm.config_class, shown)

    evaluate = command("evaluate", _evaluate, "greedy returns of a run's actors, per agent")
    evaluate.add_argument("run_dir", metavar="RUN_DIR", help="a run folder")
    evaluate.add_argument("--episodes", type=_positive_int, default=None, metavar="N",
                          help="greedy episodes (default: the run's eval_episodes)")
    evaluate.add_argument("--seed", type=_seed, default=None,
                          help="seed of the first episode, the next ones count up (default: "
                               f"the run's evaluation seeds); 0 to {MAX_SEED}")
    evaluate.add_argument("--render", metavar="GIF",
                          help="also write an animated GIF of greedy episodes (a fixed "
                               "camera, every agent labelled)")
    evaluate.add_argument("--render-episodes", type=_positive_int, default=None, metavar="N",
                          help="episodes in the GIF, one after another (default: 1)")
    evaluate.add_argument("--fps", type=_positive_float, default=None, metavar="X",
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
    compare.add_argument("--seeds", type=_seed, nargs="+", default=[0, 1, 2], metavar="S",
                         help="seeds; each side trains once per seed (default: 0 1 2)")
    compare.add_argument("--out", metavar="DIR", required=True,
                         help="folder for compare.png, compare.md and every run")
    compare.add_argument("--jobs", type=_positive_int, default=1,
                         help="runs at once, each in its own process with one thread; sides "
                              "alternate so both see the same load (default: 1)")
    compare.add_argument("--config", metavar="FILE", help="YAML or JSON file of config fields")
    _add_env_arg_option(compare)
    fields = compare.add_argument_group("config fields (both sides)",
                                        "as for train; --seed is replaced by --seeds")
    _add_config_options(fields, ALGORITHMS["maddpg"].config_class, set(),
                        skip=("seed", "checkpoint_interval"))
    return parser


_TRAIN_DESCRIPTION = """\
Train an algorithm (--algo, default maddpg) on an mpe2 scenario and write a
run folder: config.json, run.json, metrics.csv, returns.png, tensorboard/,
checkpoints/, actors/, saved_model/.

algorithms:
""" + describe() + """

Config fields come from, in rising priority: the defaults (the PyTorch
reference's settings), --config FILE, then the options below. Ctrl-C once
finishes the episode, saves a checkpoint and stops; --resume continues.
A run too short to update (episodes x episode length below --minimal-size)
or to evaluate (--episodes below --eval-interval) is warned about before it
starts.

examples:
  tf-maddpg train simple_adversary_v3 --episodes 5000 --seed 0 --out runs/adv
  tf-maddpg train simple_spread_v3 --config my.yaml --eval-interval 50
  tf-maddpg train simple_tag_v3 --algo matd3 --env-arg terminate_on_success=true
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

example:
  tf-maddpg compare simple_adversary_v3 --episodes 3000 --seeds 0 1 2 --out docs/compare/simple_adversary
"""


# --- TensorFlow's startup noise ----------------------------------------------------------

_QUIET = {"on": False}


def quiet_tensorflow(verbose: bool = False) -> None:
    """Hides TensorFlow's startup messages in this process unless the user wants them.

    Call before TensorFlow is imported. The user wants them with
    ``verbose=True`` (``--verbose-tf``) or ``TF_CPP_MIN_LOG_LEVEL`` set to 0
    or 1; otherwise ``TF_CPP_MIN_LOG_LEVEL`` becomes 2 (for this process and
    the worker processes it starts) and ``load_tensorflow`` hides what
    TensorFlow prints while it loads (those lines come before its log level
    is read, and a machine without a GPU adds a ``cuInit`` error).
    """
    level = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    _QUIET["on"] = not verbose and level not in ("0", "1")
    if _QUIET["on"] and level is None:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"


def load_tensorflow():
    """Imports TensorFlow (quietly after ``quiet_tensorflow``) and returns the module.

    While quiet, what TensorFlow writes to the standard error stream as it
    loads and looks for devices is kept aside: it is shown only if the
    import fails. On a machine with an NVIDIA GPU that TensorFlow cannot use,
    one line says so (``--verbose-tf`` shows why).
    """
    if "tensorflow" in sys.modules or not _QUIET["on"]:
        import tensorflow as tf

        return tf
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no standard error stream to quiet
        import tensorflow as tf

        return tf
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        failed = True
        try:
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")  # cuInit and its messages, now
            failed = False
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                captured.seek(0)
                sys.stderr.write(captured.read().decode(errors="replace"))
    with contextlib.suppress(ImportError):
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    if not gpus and _has_nvidia_device():
        print("tf-maddpg: note: this machine has an NVIDIA GPU but TensorFlow cannot use it "
              "and works on the CPU (--verbose-tf shows TensorFlow's reason)", file=sys.stderr)
    return tf


def _has_nvidia_device() -> bool:
    return os.path.exists("/proc/driver/nvidia/version") or bool(glob.glob("/dev/nvidia[0-9]*"))


# --- Config options ---------------------------------------------------------------------

def _add_env_arg_option(parser) -> None:
    parser.add_argument("--env-arg", dest="env_args", action="append", type=_env_arg, default=[],
                        metavar="KEY=VALUE",
                        help="a scenario option, repeatable: N=4, continuous_actions=true, "
                             "local_ratio=0.25 (values are Python literals or true/false; "
                             "an unknown key lists the scenario's options)")


def _add_config_options(group, cls, shown: set, skip: Sequence[str] = ()) -> None:
    """Adds an option for each field of ``cls`` that is not in ``shown`` (then marks it shown)."""
    docs = field_docs()
    for field in dataclasses.fields(cls):
        if field.name in skip or field.name in shown:
            continue
        shown.add(field.name)
        flags = _ALIASES.get(field.name, []) + ["--" + field.name.replace("_", "-")]
        kind = field.type
        default = field.default
        help_text = (f"{_plain(docs.get(field.name, ''))} (default: {_show(default)})"
                     .replace("%", "%%"))
        common = dict(dest=field.name, default=argparse.SUPPRESS, help=help_text)
        if kind == "bool":
            group.add_argument(*flags, type=_boolean, metavar="true|false", **common)
        elif kind == "int":
            group.add_argument(*flags, type=_integer, metavar="N", **common)
        elif kind == "float":
            group.add_argument(*flags, type=float, metavar="X", **common)
        elif kind == "Optional[float]":
            group.add_argument(*flags, type=_optional_float, metavar="X|none", **common)
        elif kind == "Tuple[int, ...]":
            group.add_argument(*flags, type=_integer, nargs="+", metavar="N", **common)
        else:
            group.add_argument(*flags, choices=cls.choices.get(field.name), **common)


def config_from(file: Optional[str], options: Dict[str, object],
                algo: Optional[str] = None) -> RunConfig:
    """The config: defaults, then the fields of ``file`` (YAML/JSON), then ``options``.

    ``algo`` (the --algo option) overrides the file's ``algo``; the default is maddpg.

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
    chosen = values.get("algo", "maddpg")
    if chosen in ALGORITHMS:
        own = {f.name for f in dataclasses.fields(ALGORITHMS[chosen].config_class)}
        foreign = sorted(k for k in options if k not in own)
        if foreign:
            flags = ", ".join(_flag(k) for k in foreign)
            owners = sorted({a.name for a in ALGORITHMS.values() for k in foreign
                             if k in {f.name for f in dataclasses.fields(a.config_class)}})
            raise BadInput(f"{flags} {'is' if len(foreign) == 1 else 'are'} not an option "
                           f"of algo {chosen}; "
                           + " or ".join(f"--algo {o}" for o in owners) + " takes it")
    try:
        return config_from_dict(values)
    except (ValueError, TypeError) as error:
        raise BadInput(_config_message(str(error), options, from_file, file)) from None


def _config_message(message: str, options: dict, from_file: dict, file: Optional[str]) -> str:
    """A config's ValueError in command-line words: ``--gamma 2.0 is invalid: ...``."""
    match = re.match(r"^\w+\.(\w+)=.*? is invalid: (.*)$", message, re.DOTALL)
    if not match:  # a field that the algorithm does not have: only a file can name one
        return f"--config {file}: {message}" if file else message
    field, reason = match.groups()
    if field in options:
        where = f"{_flag(field)} {_show(options[field])}"
    elif field in from_file:
        where = f"{field}: {_show(from_file[field])} in --config {file}"
    else:
        default = next((f.default for a in ALGORITHMS.values()
                        for f in dataclasses.fields(a.config_class) if f.name == field), None)
        where = f"{_flag(field)} {_show(default)} (the default)"
    return f"{where} is invalid: {_cli_words(reason)}"


def _read_config_file(path: str) -> dict:
    import yaml  # YAML is a superset of JSON: one parser reads both

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as error:
        raise BadInput(f"cannot read --config {path}: {error.strerror}") from None
    except (UnicodeDecodeError, yaml.reader.ReaderError):
        raise BadInput(f"--config {path} is not a text file; it must be YAML or JSON "
                       "(e.g. a config.json of an earlier run)") from None
    except yaml.YAMLError as error:
        first = " ".join(str(error).split())
        raise BadInput(f"--config {path} is not valid YAML or JSON: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadInput(f"--config {path} must hold a mapping of config fields, "
                       f"not a {type(data).__name__}")
    known = set(_ALL_FIELDS) | {"algo"}
    values = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise BadInput(f"--config {path}: unknown config field {key!r}{hint}; "
                           f"known fields: {', '.join(sorted(known))}")
        values[name] = value
    return values


def _config_options(args) -> Dict[str, object]:
    return {k: v for k, v in vars(args).items() if k in _ALL_FIELDS}


def env_kwargs_from(pairs: Sequence[tuple], scenario: str) -> Dict[str, object]:
    """The scenario options of repeated --env-arg KEY=VALUE pairs, checked against the scenario.

    Raises:
      BadInput: a key is not an option of the scenario (the message lists
        its options), a key is given twice, a value has the wrong type for
        the option's default, or a count (an integer option) is negative.
    """
    from tf_maddpg.envs.mpe import scenario_options

    options = scenario_options(scenario)
    options.pop("render_mode", None)  # the run renders nothing; evaluate --render does
    values = {}
    for key, value in pairs:
        if key not in options:
            raise BadInput(f"{scenario} has no option {key!r} (--env-arg); its options: "
                           + ", ".join(f"{k}={_show(v)}" for k, v in options.items()))
        if key in values:
            raise BadInput(f"--env-arg {key} is given twice")
        default = options[key]
        expected = (bool if isinstance(default, bool) else
                    (int,) if isinstance(default, int) else
                    (int, float) if isinstance(default, float) else None)
        if expected is not None and (not isinstance(value, expected)
                                     or (expected is not bool and isinstance(value, bool))):
            kind = {bool: "true or false", (int,): "an integer"}.get(expected, "a number")
            raise BadInput(f"--env-arg {key}={value!r}: {scenario}'s {key} takes {kind} "
                           f"(default {_show(default)})")
        if expected == (int,) and value < 0:
            raise BadInput(f"--env-arg {key}={value}: {scenario}'s {key} is a count; give an "
                           f"integer >= 0 (default {_show(default)})")
        if isinstance(default, float) and not math.isfinite(value):
            raise BadInput(f"--env-arg {key}={value}: give a finite number (default "
                           f"{_show(default)})")
        values[key] = float(value) if isinstance(default, float) else value
    return values


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
        raise ValueError(_reason(error)) from None
    try:
        if not env.agents:
            raise ValueError("it has no agents")
        env.reset_packed(seed=0)
        env.step_packed(np.zeros(env.action_width, np.float32))
        return list(env.specs)
    except ValueError as error:
        raise ValueError(_reason(error)) from None
    except Exception as error:  # noqa: BLE001
        raise ValueError(_reason(error)) from None
    finally:
        with contextlib.suppress(Exception):
            env.close()


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split()).rstrip(".")
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# --- Commands -----------------------------------------------------------------------------

def _train(args, parser) -> int:
    from tf_maddpg.envs.mpe import known_scenarios
    from tf_maddpg.runs.folder import RunFolderError, read_run

    options = _config_options(args)
    if args.resume:
        if args.overwrite:
            raise BadInput("--overwrite cannot be combined with --resume: --resume continues "
                           "the run in RUN_DIR, --overwrite starts a new one in its place; "
                           "give one of them")
        if args.config:
            raise BadInput("--config cannot be combined with --resume: a run resumes with its "
                           "own config.json")
        extra = sorted(set(options) - set(RESUMABLE_FIELDS))
        extra += ["algo"] * bool(args.algo) + ["env_arg"] * bool(args.env_args)
        if extra:
            raise BadInput(f"only --episodes and --env-workers may change when resuming; "
                           f"remove {', '.join(_flag(e) for e in extra)}")
        try:
            info = read_run(args.resume)
        except RunFolderError as error:
            raise CommandError(_cli_words(str(error))) from None
        except (OSError, ValueError, TypeError, KeyError) as error:
            raise CommandError(f"{args.resume} holds a damaged run.json or config.json "
                               f"({_reason(error)})") from None
        if info.scenario is None:
            raise CommandError(f"{args.resume} was trained on an environment given in Python; "
                               "resume it with tf_maddpg.train(..., resume=True)")
        if args.env and args.env != info.scenario:
            raise CommandError(f"{args.resume} is a run of {info.scenario}, not {args.env}")
        if args.out and os.path.abspath(args.out) != os.path.abspath(args.resume):
            raise BadInput("--out cannot differ from --resume: a run resumes in its own folder")
        scenario, out_dir, env_kwargs = info.scenario, args.resume, info.env_kwargs
        try:
            config = info.config.replace(**options) if options else info.config
        except (ValueError, TypeError) as error:
            raise BadInput(_config_message(str(error), options, {}, None)) from None
        done = run_episode(args.resume)
        if config.num_episodes <= done:
            more = max(2 * done, done + 1)
            if "num_episodes" in options:
                raise BadInput(f"{args.resume} is at episode {done} already, and --episodes "
                               f"gives the new total: pass more than {done} (e.g. --episodes "
                               f"{more}) to train further")
            raise BadInput(f"{args.resume} has finished its {done} episodes; to train further "
                           f"give a larger total, e.g. --episodes {more}")
        _check_run_scenario(args.resume, info, config.episode_length)
    else:
        if not args.env:
            raise BadInput("give the scenario to train (ENV), or --resume RUN_DIR")
        known = known_scenarios()
        if args.env not in known:
            close = difflib.get_close_matches(args.env, known, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise BadInput(f"unknown scenario {args.env!r}.{hint} Known mpe2 scenarios: "
                           f"{', '.join(known)}")
        config = config_from(args.config, options, args.algo)
        env_kwargs = env_kwargs_from(args.env_args, args.env)
        scenario = args.env
        try:
            specs = check_scenario(scenario, env_kwargs, config.episode_length)
        except ValueError as error:
            given = " ".join(f"--env-arg {k}={_show(v)}" for k, v in env_kwargs.items())
            raise BadInput(f"{scenario} cannot run with {given or 'its default options'}: "
                           f"mpe2 fails with {error}; choose other values") from None
        _check_buffer_memory(config, specs)
        out_dir = args.out or default_run_dir(scenario, config, env_kwargs)
        _check_writable_folder(out_dir, "--out" if args.out else None)

    warnings = short_run_warnings(config)
    for warning in warnings:
        print(f"tf-maddpg train: warning: {warning}", file=sys.stderr)

    tf = load_tensorflow()
    from tf_maddpg.runs.checkpoint import CheckpointError
    from tf_maddpg.training import train

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    try:
        result = train(config, scenario, env_kwargs=env_kwargs, out_dir=out_dir,
                       verbose=not args.quiet, resume=bool(args.resume),
                       overwrite=args.overwrite)
    except (RunFolderError, CheckpointError, FloatingPointError, MemoryError) as error:
        raise CommandError(_cli_words(_first_line(error))) from None
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        raise CommandError(f"cannot write{where}: {error.strerror or error}; check the "
                           "output folder (its disk, its permissions)") from None
    except RuntimeError as error:
        if "environment worker" not in str(error):
            raise
        raise CommandError(_worker_message(str(error))) from None
    except KeyboardInterrupt:
        return 130
    if result.interrupted:
        return 130
    if warnings:
        said = []
        if result.num_updates == 0 and any(w.startswith("no update") for w in warnings):
            said.append("no update happened")
        if not result.history and any(w.startswith("no evaluation") for w in warnings):
            said.append("no evaluation happened")
        if said:
            print(f"tf-maddpg train: warning: {' and '.join(said)} in this run, as warned at "
                  f"the start: the actors in {out_dir} are untrained", file=sys.stderr)
    return 0


def _evaluate(args, parser) -> int:
    if (args.render_episodes is not None or args.fps is not None) and not args.render:
        raise BadInput("--render-episodes and --fps set the GIF: give --render GIF too")
    if args.render:
        _check_output_file(args.render, "--render")
    info = _read_run(args.run_dir)
    config = info.config
    episodes = args.episodes or config.eval_episodes
    count = args.render_episodes or 1 if args.render else 0
    if args.seed is not None and args.seed + max(episodes, count) - 1 > MAX_SEED:
        raise BadInput(f"--seed {args.seed} with {max(episodes, count)} episodes runs past the "
                       f"largest seed {MAX_SEED}; give a smaller --seed")
    _check_run_scenario(args.run_dir, info, config.episode_length)

    load_tensorflow()
    from tf_maddpg.envs.sources import build_vec_env
    from tf_maddpg.seeding import RunSeeds
    from tf_maddpg.training.evaluation import play_episodes

    policy = _load_run_policy(args.run_dir, info)
    if args.seed is None:
        all_seeds = RunSeeds(config.seed).evaluation_seeds(max(episodes, count))
        which = "the run's evaluation episodes"
    else:
        all_seeds = list(range(args.seed, args.seed + max(episodes, count)))
        which = f"seeds {args.seed}...{args.seed + episodes - 1}"
    seeds, gif_seeds = all_seeds[:episodes], all_seeds[:count]
    with build_vec_env(info.scenario, config.episode_length, info.env_kwargs,
                       num_envs=min(episodes, 16)) as env:
        returns = play_episodes(policy, env, seeds, config.episode_length)
    print(f"{info.scenario}: greedy returns over {episodes} episodes ({which})")
    print(f"{'agent':<18} {'mean':>9} {'std':>8} {'min':>9} {'max':>9}")
    for k, spec in enumerate(info.specs):
        column = returns[:, k]
        print(f"{spec.name:<18} {column.mean():>9.2f} {column.std():>8.2f} "
              f"{column.min():>9.2f} {column.max():>9.2f}")
    if args.render:
        from tf_maddpg.render import record_gif

        gif_returns = record_gif(policy, info.scenario, args.render,
                                 max_steps=config.episode_length, fps=args.fps or 10.0,
                                 env_kwargs=info.env_kwargs, seeds=gif_seeds)
        label = (f"one episode, seed {gif_seeds[0]}" if count == 1 else
                 f"{count} episodes, seeds {', '.join(map(str, gif_seeds))}")
        mean = gif_returns.mean(axis=0)
        print(f"wrote {args.render} ({label}; {'returns' if count == 1 else 'mean returns'} "
              + ", ".join(f"{s.name} {r:.2f}" for s, r in zip(info.specs, mean)) + ")")
    return 0


def _export(args, parser) -> int:
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise BadInput(f"--out {args.out} is a file; export writes a folder (one SavedModel "
                       "per agent and metadata.json): give a folder name")
    _check_writable_folder(args.out, "--out")
    info = _read_run(args.run_dir, need_scenario=False)
    load_tensorflow()
    from tf_maddpg.export import export_actors
    from tf_maddpg.runs.actors import load_actors
    from tf_maddpg.runs.folder import ACTORS_DIR

    try:
        actors = load_actors(info.specs, os.path.join(args.run_dir, ACTORS_DIR))
    except (FileNotFoundError, ValueError) as error:
        raise CommandError(f"{error} (actors are saved with every checkpoint)") from None
    try:
        paths = export_actors(actors, info.specs, args.out, scenario=info.scenario,
                              env_kwargs=info.env_kwargs)
    except OSError as error:
        raise CommandError(f"cannot write {error.filename or args.out}: "
                           f"{error.strerror or error}") from None
    for spec, path in zip(info.specs, paths):
        print(f"{spec.name}: {path}")
    return 0


def _plot(args, parser) -> int:
    from tf_maddpg.runs.folder import METRICS_FILE, RunFolderError, read_run
    from tf_maddpg.runs.metrics import MetricsError, read_metrics

    _check_output_file(args.out, "--out", _IMAGE_TYPES)
    runs, infos = [], []
    for run_dir in args.run_dirs:
        if not os.path.isdir(run_dir):
            raise CommandError(f"{run_dir} does not exist or is not a folder; give run folders "
                               "(the --out folders of `tf-maddpg train`)")
        path = os.path.join(run_dir, METRICS_FILE)
        if not os.path.exists(path):
            raise CommandError(f"{run_dir} has no {METRICS_FILE}: is it a run folder?")
        try:
            rows = read_metrics(path)
        except (MetricsError, OSError) as error:
            raise CommandError(_first_line(error)) from None
        if not rows:
            raise CommandError(f"{path} has no evaluation yet (one is written every "
                               "--eval-interval episodes)")
        runs.append(rows)
        try:
            infos.append(read_run(run_dir))
        except (RunFolderError, OSError, ValueError, TypeError, KeyError):
            infos.append(None)
    agents = [[k for k in rows[0] if k.startswith("return/")] for rows in runs]
    if any(a != agents[0] for a in agents):
        raise CommandError("the runs have different agents ("
                           + "; ".join(f"{d}: {', '.join(k[7:] for k in a)}"
                                       for d, a in zip(args.run_dirs, agents))
                           + "): plot runs of one scenario together")
    title = args.title or _plot_title(infos, len(runs))

    from tf_maddpg.runs.plots import common_length, plot_returns, plot_returns_over_seeds

    try:
        if len(runs) == 1:
            plot_returns(runs[0], args.out, title=title)
        else:
            plot_returns_over_seeds(runs, args.out, title=title)
    except OSError as error:
        raise CommandError(f"cannot write {args.out}: {error.strerror or error}") from None
    if len(runs) > 1:
        length = common_length(runs)
        if any(len(rows) != length for rows in runs):
            last = runs[0][length - 1]["episode"]
            print("note: the runs reached different lengths ("
                  + ", ".join(f"{d}: episode {rows[-1]['episode']}"
                              for d, rows in zip(args.run_dirs, runs))
                  + f"); the curves stop at episode {last}, the last evaluation of every run")
    print(f"wrote {args.out}"
          + (f" (mean of {len(runs)} runs with a min-max band)" if len(runs) > 1 else ""))
    return 0


def _plot_title(infos, count: int) -> Optional[str]:
    known = [i for i in infos if i is not None]
    if not known:
        return None
    first = known[0]
    name = first.scenario or "a Python environment"
    options = _options_text(first.env_kwargs)
    if count == 1:
        return f"{name}{options}, {first.config.algo}, seed {first.config.seed}"
    algos = sorted({i.config.algo for i in known})
    seeds = sorted({i.config.seed for i in known})
    return (f"{name}{options}, {'/'.join(algos)}, seeds {', '.join(map(str, seeds))}: "
            f"mean and min-max band over {count} runs")


def _compare(args, parser) -> int:
    from tf_maddpg.envs.mpe import known_scenarios

    if args.env not in known_scenarios():
        raise BadInput(f"unknown scenario {args.env!r}; known mpe2 scenarios: "
                       f"{', '.join(known_scenarios())}")
    config = config_from(args.config, _config_options(args))
    env_kwargs = env_kwargs_from(args.env_args, args.env)
    if config.algo != "maddpg":
        raise BadInput(f"compare trains the PyTorch reference, which is MADDPG; --config asks "
                       f"for algo {config.algo}")
    try:
        check_scenario(args.env, env_kwargs, config.episode_length)
    except ValueError as error:
        raise BadInput(f"{args.env} cannot run with these --env-arg options: mpe2 fails with "
                       f"{error}") from None
    _check_writable_folder(args.out, "--out")
    load_tensorflow()
    try:
        from tf_maddpg.compare import compare
    except ImportError as error:
        raise CommandError(str(error)) from None
    command_line = "tf-maddpg " + shlex.join(args.argv)
    try:
        summaries = compare(args.env, args.seeds, config, args.out, env_kwargs=env_kwargs,
                            jobs=args.jobs, command=command_line)
    except ImportError as error:
        raise CommandError(str(error)) from None
    except KeyboardInterrupt:
        return 130
    with open(os.path.join(args.out, "compare.md")) as f:
        print(f.read())
    print(f"wrote {os.path.join(args.out, 'compare.png')} and compare.md "
          f"({len(summaries)} runs)")
    return 0


def _list_envs(args, parser) -> int:
    from tf_maddpg.envs.mpe import known_scenarios, make_env

    rows = []
    for name in known_scenarios():
        env = make_env(name)
        rows.append((name, ", ".join(env.agents),
                     ", ".join(str(s.obs_dim) for s in env.specs),
                     ", ".join(str(s.action_dim) for s in env.specs)))
        env.close()
    header = ("scenario", "agents", "observation sizes", "discrete action sizes")
    widths = [max(len(r[k]) for r in rows + [header]) for k in range(4)]
    for row in [header] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


# --- Checks before a command starts -------------------------------------------------------

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
    ``eval_interval`` episodes.
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
    if config.num_episodes < config.eval_interval:
        warnings.append(
            f"no evaluation will happen: one is made every --eval-interval "
            f"{config.eval_interval} episodes and the run has {config.num_episodes}, so "
            f"metrics.csv and returns.png stay empty; give --eval-interval "
            f"{max(1, config.num_episodes // 5)} or more --episodes")
    return warnings


def run_episode(run_dir: str) -> int:
    """The episode a run folder would resume from: its newest checkpoint's number
    (checkpoints/ckpt-<episode>.index), 0 without one."""
    from tf_maddpg.runs.folder import CHECKPOINT_DIR

    numbers = [int(m.group(1)) for path in
               glob.glob(os.path.join(glob.escape(run_dir), CHECKPOINT_DIR, "ckpt-*.index"))
               if (m := re.fullmatch(r"ckpt-(\d+)\.index", os.path.basename(path)))]
    return max(numbers, default=0)


def _check_buffer_memory(config: RunConfig, specs) -> None:
    size = getattr(config, "buffer_size", None)
    if size is None:
        return
    from tf_maddpg.storage.replay import buffer_bytes, format_bytes, physical_memory

    needed, physical = buffer_bytes(specs, size), physical_memory()
    if physical is not None and needed > physical:
        from tf_maddpg.storage.replay import max_transitions

        raise BadInput(f"--buffer-size {size}: the replay buffer would need "
                       f"{format_bytes(needed)}, more than this machine's "
                       f"{format_bytes(physical)}; lower --buffer-size (about "
                       f"{max_transitions(specs, physical // 2)} transitions take half of it)")


def _check_writable_folder(path: str, option: Optional[str]) -> None:
    """Makes sure that ``path`` is, or can become, a folder this process writes to."""
    name = f"{option} {path}" if option else f"the run folder {path}"
    fix = "give another folder" if option else "choose another with --out DIR"
    if os.path.exists(path) and not os.path.isdir(path):
        raise BadInput(f"{name} is a file, not a folder; {fix}")
    parent = os.path.abspath(path)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise BadInput(f"{name}: {parent} is a file, so no folder can be made there; {fix}")
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise BadInput(f"{name}: cannot write there ({error.strerror or error}); {fix}") from None


def _check_output_file(path: str, option: str, suffixes: Sequence[str] = ()) -> None:
    """Makes sure that ``path`` can be written as a file (its folder is made if missing)."""
    if os.path.isdir(path):
        raise BadInput(f"{option} {path} is a folder; give a file name")
    if suffixes and not path.lower().endswith(tuple(suffixes)):
        raise BadInput(f"{option} {path}: give a file name ending in "
                       f"{', '.join(suffixes[:-1])} or {suffixes[-1]}")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise BadInput(f"{option} {path}: {folder} is a file, not a folder")
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise BadInput(f"{option} {path}: cannot write there "
                       f"({error.strerror or error})") from None


def _read_run(run_dir: str, need_scenario: bool = True):
    from tf_maddpg.runs.folder import RunFolderError, read_run

    try:
        info = read_run(run_dir)
    except RunFolderError as error:
        raise CommandError(_cli_words(str(error))) from None
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise CommandError(f"{run_dir} holds a damaged run.json or config.json "
                           f"({_reason(error)})") from None
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
                           f"{_show_options(info.env_kwargs)} ({error}); was run.json edited? "
                           "Put back the options the run was trained with") from None
    if specs != list(info.specs):
        raise CommandError(
            f"{where}: {info.scenario} with options {_show_options(info.env_kwargs)} has "
            f"agents {_describe_specs(specs)}, but the run's actors were trained for "
            f"{_describe_specs(info.specs)}; was run.json edited? Put back the scenario and "
            "options the run was trained with")


def _load_run_policy(run_dir: str, info):
    from tf_maddpg.algorithms.registry import algorithm_of
    from tf_maddpg.runs.actors import load_actors
    from tf_maddpg.runs.folder import ACTORS_DIR

    try:
        actors = load_actors(info.specs, os.path.join(run_dir, ACTORS_DIR))
    except (FileNotFoundError, ValueError) as error:
        raise CommandError(f"{error} (actors are saved with every checkpoint)") from None
    return algorithm_of(info.config).make_policy(info.specs, actors, info.config)


# --- Helpers ------------------------------------------------------------------------------

def _describe_specs(specs) -> str:
    return ", ".join(f"{s.name} (obs {s.obs_dim}, {'Discrete' if s.discrete else 'Box'} "
                     f"{s.action_dim})" for s in specs)


def _show_options(env_kwargs: dict) -> str:
    return "{" + ", ".join(f"{k}={_show(v)}" for k, v in env_kwargs.items()) + "}"


def _options_text(env_kwargs: dict) -> str:
    return f" ({', '.join(f'{k}={_show(v)}' for k, v in env_kwargs.items())})" if env_kwargs else ""


def _flag(field: str) -> str:
    """A config field's command-line option: ``num_episodes`` -> ``--episodes``."""
    return _ALIASES.get(field, ["--" + field.replace("_", "-")])[0]


def _cli_words(message: str) -> str:
    """A library message in command-line words: ``resume=True`` -> ``--resume``, and
    config field names (``buffer_size``) -> their options (``--buffer-size``)."""
    message = message.replace(" (resume=True)", "").replace("resume=True", "--resume")
    message = message.replace("overwrite=True", "--overwrite")
    names = sorted((f for f in _ALL_FIELDS if "_" in f), key=len, reverse=True)
    return re.sub(r"(?<![\w./-])(" + "|".join(map(re.escape, names)) + r")(?![\w/])",
                  lambda m: _flag(m.group(1)), message)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _worker_message(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else text
    return f"an environment worker process failed: {last}"


def _unrecognized(parser, extra: Sequence[str]) -> str:
    options = [o for action in parser._actions for o in action.option_strings]
    hints = []
    for item in extra:
        if item.startswith("--"):
            close = difflib.get_close_matches(item.split("=")[0], options, n=1, cutoff=0.75)
            if close:
                hints.append(f"{item} -> {close[0]}?")
    return (f"unrecognized arguments: {' '.join(extra)}"
            + (f" (did you mean: {', '.join(hints)})" if hints else ""))


def _plain(text: str) -> str:
    """Help text without reStructuredText's double backticks."""
    return text.replace("``", "")


def _show(value) -> str:
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, str) else str(value)


def _env_arg(text: str) -> tuple:
    """KEY=VALUE -> (key, value): a Python literal, true/false, or else the text itself."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. N=4), not {text!r}")
    if value in ("true", "false"):
        return key.strip(), value == "true"
    try:
        return key.strip(), ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return key.strip(), value


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def _optional_float(text: str) -> Optional[float]:
    return None if text.lower() in ("none", "null", "off") else float(text)


def _integer(text: str) -> int:
    """An integer, also written as 1e6 or 100_000."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value.is_integer()):
        raise argparse.ArgumentTypeError(f"expected an integer, not {text!r}")
    return int(value)


def _positive_int(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, not {text}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number > 0, not {text!r}")
    return value


def _seed(text: str) -> int:
    value = _integer(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"a seed is an integer from 0 to {MAX_SEED}, "
                                         f"not {text}")
    return value


__all__: List[str] = ["BadInput", "CommandError", "build_parser", "check_scenario",
                      "config_from", "default_run_dir", "env_kwargs_from", "load_tensorflow",
                      "main", "quiet_tensorflow", "run_episode", "short_run_warnings"]

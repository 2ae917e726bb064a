"""The ``tf-maddpg`` command: train, evaluate, export, plot, list-envs, compare.

Every algorithm of the registry (``tf_maddpg.algorithms.registry``) trains
with ``--algo NAME``; its configuration's fields are the options of ``train``.

    tf-maddpg train simple_adversary_v3 --episodes 5000 --seed 0 --out runs/adv
    tf-maddpg train simple_spread_v3 --algo matd3 --env-arg N=4 --env-arg continuous_actions=true
    tf-maddpg train --resume runs/adv --episodes 8000
    tf-maddpg evaluate runs/adv --episodes 100 --render adv.gif
    tf-maddpg export runs/adv --out exported/adv
    tf-maddpg plot runs/adv runs/adv1 --out returns.png
    tf-maddpg list-envs

Exit status: 0 done, 1 a run failed (the message says why), 2 bad
command-line input, 130 stopped by Ctrl-C (after saving a checkpoint).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import json
import os
import shlex
import sys
from typing import Dict, List, Optional, Sequence

from tf_maddpg.algorithms.registry import ALGORITHMS, config_from_dict, describe, field_docs
from tf_maddpg.config import RESUMABLE_FIELDS, RunConfig

_ALIASES = {"num_episodes": ["--episodes"]}
_ALL_FIELDS = {f.name for a in ALGORITHMS.values() for f in dataclasses.fields(a.config_class)}


class CommandError(Exception):
    """A run could not be done; the message says why and what to do (exit status 1)."""


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    if not hasattr(args, "command"):
        parser.print_help()
        return 2
    try:
        return args.command(args, args.subparser)
    except CommandError as error:
        print(f"tf-maddpg {args.command_name}: error: {error}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    """The ``tf-maddpg`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="tf-maddpg", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name, function, help_text, description=None):
        p = sub.add_parser(name, help=help_text, description=description or help_text,
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           allow_abbrev=False)
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
                       help="run folder (default: runs/ENV/seedSEED)")
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
    evaluate.add_argument("--episodes", type=_positive_int, default=None,
                          help="greedy episodes (default: the run's eval_episodes)")
    evaluate.add_argument("--seed", type=int, default=None,
                          help="seed of the first episode (default: the run's evaluation seeds)")
    evaluate.add_argument("--render", metavar="GIF",
                          help="also write an animated GIF of one greedy episode")

    export = command("export", _export, "write one TensorFlow SavedModel per agent actor")
    export.add_argument("run_dir", metavar="RUN_DIR", help="a run folder")
    export.add_argument("--out", metavar="DIR", required=True,
                        help="folder that receives one SavedModel per agent")

    plot = command("plot", _plot, "per-agent return curves of one run or of several seeds")
    plot.add_argument("run_dirs", metavar="RUN_DIR", nargs="+",
                      help="run folders; several are drawn as mean and min-max band")
    plot.add_argument("--out", metavar="PNG", required=True, help="image to write")
    plot.add_argument("--title", help="figure title (default: the scenario)")

    command("list-envs", _list_envs, "the mpe2 scenarios, with agents and sizes")

    compare = command("compare", _compare, "train tf_maddpg and the PyTorch reference side by side",
                      _COMPARE_DESCRIPTION)
    compare.add_argument("env", metavar="ENV", help="mpe2 scenario module")
    compare.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], metavar="S",
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
        help_text = f"{docs.get(field.name, '')} (default: {_show(default)})".replace("%", "%%")
        common = dict(dest=field.name, default=argparse.SUPPRESS, help=help_text)
        if kind == "bool":
            group.add_argument(*flags, type=_boolean, metavar="true|false", **common)
        elif kind == "int":
            group.add_argument(*flags, type=int, metavar="N", **common)
        elif kind == "float":
            group.add_argument(*flags, type=float, metavar="X", **common)
        elif kind == "Optional[float]":
            group.add_argument(*flags, type=_optional_float, metavar="X|none", **common)
        elif kind == "Tuple[int, ...]":
            group.add_argument(*flags, type=int, nargs="+", metavar="N", **common)
        else:
            group.add_argument(*flags, choices=cls.choices.get(field.name), **common)


def config_from(file: Optional[str], options: Dict[str, object],
                algo: Optional[str] = None) -> RunConfig:
    """The config: defaults, then the fields of ``file`` (YAML/JSON), then ``options``.

    ``algo`` (the --algo option) overrides the file's ``algo``; the default is maddpg.

    Raises:
      CommandError: the file is unreadable or names a field that does not
        exist, a field belongs to another algorithm, or a value is out of range.
    """
    values = {}
    if file:
        values.update(_read_config_file(file))
    values.update(options)
    if algo:
        values["algo"] = algo
    chosen = values.get("algo", "maddpg")
    if chosen in ALGORITHMS:
        own = {f.name for f in dataclasses.fields(ALGORITHMS[chosen].config_class)}
        foreign = sorted(k for k in options if k not in own)
        if foreign:
            flags = ", ".join("--" + k.replace("_", "-") for k in foreign)
            owners = sorted({a.name for a in ALGORITHMS.values() for k in foreign
                             if k in {f.name for f in dataclasses.fields(a.config_class)}})
            raise CommandError(f"{flags} {'is' if len(foreign) == 1 else 'are'} not an option "
                               f"of algo {chosen}; "
                               + " or ".join(f"--algo {o}" for o in owners) + " takes it")
    try:
        return config_from_dict(values)
    except ValueError as error:
        raise CommandError(str(error)) from None


def _read_config_file(path: str) -> dict:
    import yaml  # YAML is a superset of JSON: one parser reads both

    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except OSError as error:
        raise CommandError(f"cannot read --config {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise CommandError(f"--config {path} is not valid YAML or JSON: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CommandError(f"--config {path} must hold a mapping of config fields, "
                           f"not a {type(data).__name__}")
    known = set(_ALL_FIELDS) | {"algo"}
    values = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise CommandError(f"--config {path}: unknown config field {key!r}{hint}; "
                               f"known fields: {', '.join(sorted(known))}")
        values[name] = value
    return values


def _config_options(args) -> Dict[str, object]:
    return {k: v for k, v in vars(args).items() if k in _ALL_FIELDS}


def env_kwargs_from(pairs: Sequence[tuple], scenario: str) -> Dict[str, object]:
    """The scenario options of repeated --env-arg KEY=VALUE pairs, checked against the scenario.

    Raises:
      CommandError: a key is not an option of the scenario (the message
        lists its options), a key is given twice, or a value has the wrong
        type for the option's default.
    """
    from tf_maddpg.envs.mpe import scenario_options

    options = scenario_options(scenario)
    options.pop("render_mode", None)  # the run renders nothing; evaluate --render does
    values = {}
    for key, value in pairs:
        if key not in options:
            raise CommandError(f"{scenario} has no option {key!r} (--env-arg); its options: "
                               + ", ".join(f"{k}={_show(v)}" for k, v in options.items()))
        if key in values:
            raise CommandError(f"--env-arg {key} is given twice")
        default = options[key]
        expected = (bool if isinstance(default, bool) else
                    (int,) if isinstance(default, int) else
                    (int, float) if isinstance(default, float) else None)
        if expected is not None and (not isinstance(value, expected)
                                     or (expected is not bool and isinstance(value, bool))):
            kind = {bool: "true or false", (int,): "an integer"}.get(expected, "a number")
            raise CommandError(f"--env-arg {key}={value!r}: {scenario}'s {key} takes {kind} "
                               f"(default {_show(default)})")
        values[key] = float(value) if isinstance(default, float) else value
    return values


# --- Commands -----------------------------------------------------------------------------

def _train(args, parser) -> int:
    from tf_maddpg.envs.mpe import known_scenarios
    from tf_maddpg.runs.checkpoint import CheckpointError
    from tf_maddpg.runs.folder import RunFolderError, read_run
    from tf_maddpg.training import train

    options = _config_options(args)
    if args.resume:
        if args.config:
            parser.error("--config cannot be combined with --resume: a run resumes with its own "
                         "config.json")
        extra = sorted(set(options) - set(RESUMABLE_FIELDS))
        extra += ["algo"] * bool(args.algo) + ["env_arg"] * bool(args.env_args)
        if extra:
            parser.error(f"only --episodes and --env-workers may change when resuming; remove "
                         f"{', '.join('--' + e.replace('_', '-') for e in extra)}")
        try:
            info = read_run(args.resume)
        except RunFolderError as error:
            raise CommandError(str(error)) from None
        if info.scenario is None:
            raise CommandError(f"{args.resume} was trained on an environment given in Python; "
                               "resume it with tf_maddpg.train(..., resume=True)")
        if args.env and args.env != info.scenario:
            raise CommandError(f"{args.resume} is a run of {info.scenario}, not {args.env}")
        if args.out and os.path.abspath(args.out) != os.path.abspath(args.resume):
            parser.error("--out cannot differ from --resume: a run resumes in its own folder")
        scenario, out_dir = info.scenario, args.resume
        config = info.config.replace(**options) if options else info.config
        env_kwargs = info.env_kwargs
    else:
        if not args.env:
            parser.error("give the scenario to train (ENV), or --resume RUN_DIR")
        known = known_scenarios()
        if args.env not in known:
            close = difflib.get_close_matches(args.env, known, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            parser.error(f"unknown scenario {args.env!r}.{hint} Known mpe2 scenarios: "
                         f"{', '.join(known)}")
        try:
            config = config_from(args.config, options, args.algo)
            env_kwargs = env_kwargs_from(args.env_args, args.env)
        except CommandError as error:
            parser.error(str(error))
        scenario = args.env
        out_dir = args.out or os.path.join("runs", scenario, f"seed{config.seed}")
    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    try:
        result = train(config, scenario, env_kwargs=env_kwargs, out_dir=out_dir,
                       verbose=not args.quiet, resume=bool(args.resume),
                       overwrite=args.overwrite)
    except (RunFolderError, CheckpointError, FloatingPointError) as error:
        raise CommandError(str(error)) from None
    except KeyboardInterrupt:
        return 130
    return 130 if result.interrupted else 0


def _evaluate(args, parser) -> int:
    from tf_maddpg.envs.sources import build_vec_env
    from tf_maddpg.seeding import RunSeeds
    from tf_maddpg.training.evaluation import play_episodes

    info, policy = _load_run_policy(args.run_dir)
    config = info.config
    episodes = args.episodes or config.eval_episodes
    if args.seed is None:
        seeds = RunSeeds(config.seed).evaluation_seeds(episodes)
        which = "the run's evaluation episodes"
    else:
        seeds = list(range(args.seed, args.seed + episodes))
        which = f"seeds {args.seed}...{args.seed + episodes - 1}"
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
                                 max_steps=config.episode_length, seed=seeds[0],
                                 env_kwargs=info.env_kwargs)
        print(f"wrote {args.render} (one episode, seed {seeds[0]}; returns "
              + ", ".join(f"{s.name} {r:.2f}" for s, r in zip(info.specs, gif_returns)) + ")")
    return 0


def _export(args, parser) -> int:
    from tf_maddpg.export import export_actors

    info, policy = _load_run_policy(args.run_dir)
    paths = export_actors(policy.actors, info.specs, args.out, scenario=info.scenario)
    for spec, path in zip(info.specs, paths):
        print(f"{spec.name}: {path}")
    return 0


def _plot(args, parser) -> int:
    from tf_maddpg.runs.folder import METRICS_FILE, RunFolderError, read_run
    from tf_maddpg.runs.metrics import read_metrics
    from tf_maddpg.runs.plots import plot_returns, plot_returns_over_seeds

    runs, scenarios = [], set()
    for run_dir in args.run_dirs:
        path = os.path.join(run_dir, METRICS_FILE)
        if not os.path.exists(path):
            raise CommandError(f"{run_dir} has no {METRICS_FILE}: is it a run folder?")
        rows = read_metrics(path)
        if not rows:
            raise CommandError(f"{path} has no evaluation yet")
        runs.append(rows)
        try:
            scenarios.add(read_run(run_dir).scenario)
        except RunFolderError:
            pass
    title = args.title or (scenarios.pop() if len(scenarios) == 1 else None)
    if len(runs) == 1:
        plot_returns(runs[0], args.out, title=title)
    else:
        plot_returns_over_seeds(runs, args.out, title=title and f"{title} ({len(runs)} runs)")
    print(f"wrote {args.out}")
    return 0


def _compare(args, parser) -> int:
    from tf_maddpg.envs.mpe import known_scenarios

    if args.env not in known_scenarios():
        parser.error(f"unknown scenario {args.env!r}; known mpe2 scenarios: "
                     f"{', '.join(known_scenarios())}")
    try:
        config = config_from(args.config, _config_options(args))
        env_kwargs = env_kwargs_from(args.env_args, args.env)
    except CommandError as error:
        parser.error(str(error))
    if config.algo != "maddpg":
        parser.error(f"compare trains the PyTorch reference, which is MADDPG; --config asks "
                     f"for algo {config.algo}")
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


# --- Helpers ------------------------------------------------------------------------------

def _load_run_policy(run_dir: str):
    from tf_maddpg.algorithms.registry import algorithm_of
    from tf_maddpg.runs.actors import load_actors
    from tf_maddpg.runs.folder import ACTORS_DIR, RunFolderError, read_run

    try:
        info = read_run(run_dir)
    except RunFolderError as error:
        raise CommandError(str(error)) from None
    if info.scenario is None:
        raise CommandError(f"{run_dir} was trained on an environment given in Python; "
                           "the command line knows mpe2 scenarios only")
    try:
        actors = load_actors(info.specs, os.path.join(run_dir, ACTORS_DIR))
    except (FileNotFoundError, ValueError) as error:
        raise CommandError(f"{error} (actors are saved with every checkpoint)") from None
    return info, algorithm_of(info.config).make_policy(info.specs, actors, info.config)


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
    except (ValueError, SyntaxError):
        return key.strip(), value


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def _optional_float(text: str) -> Optional[float]:
    return None if text.lower() in ("none", "null", "off") else float(text)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, not {text}")
    return value


__all__: List[str] = ["build_parser", "config_from", "env_kwargs_from", "main", "CommandError"]


"""The commands: train, evaluate, export, plot, compare and list-envs. Each takes the
parsed arguments, checks them (``checks``) before it loads TensorFlow, and returns
the exit status."""

from __future__ import annotations

import os
import shlex
import sys
from typing import Optional

from tf_maddpg.cli.configs import (check_buffer_memory, check_scenario, check_scenario_size,
                                   config_from, config_message, config_options,
                                   default_run_dir, env_kwargs_from, short_run_warnings)
from tf_maddpg.cli.errors import BadInput, CommandError
from tf_maddpg.cli.messages import (cli_words, first_line, flag_of, options_text,
                                    worker_message)
from tf_maddpg.cli.outputs import check_output_file, check_writable_folder
from tf_maddpg.cli.run_dirs import check_run_scenario, load_run_dir_policy, read_run_dir
from tf_maddpg.config import MAX_SEED, RESUMABLE_FIELDS, listed
from tf_maddpg.inputs import show_value
from tf_maddpg.runtime import load_tensorflow, set_tensorflow_threads
from tf_maddpg.signals import EXIT_STATUS

_IMAGE_TYPES = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".eps")


def _train(args, parser) -> int:
    from tf_maddpg.envs.mpe import check_scenario_name
    from tf_maddpg.runs.folder import RunFolderError, check_resume_total, check_same_scenario

    options = config_options(args)
    if args.resume:
        if args.overwrite:
            raise BadInput("--overwrite cannot be combined with --resume: --resume continues "
                           "the run in RUN_DIR, --overwrite starts a new one in its place; "
                           "give one of them")
        if args.config:
            raise BadInput("--config cannot be combined with --resume: a run resumes with its "
                           "own config.json")
        extra = sorted(set(options) - set(RESUMABLE_FIELDS))
        extra += (["algo"] * bool(args.algo) + ["env_arg"] * bool(args.env_args)
                  + ["preset"] * bool(args.preset))
        if extra:
            raise BadInput(f"only {listed([flag_of(f) for f in RESUMABLE_FIELDS])} may "
                           "change when resuming; "
                           f"remove {', '.join(flag_of(e) for e in extra)}")
        info = read_run_dir(args.resume, need_scenario=False)
        if info.scenario is None:
            raise CommandError(f"{args.resume} was trained on an environment given in Python; "
                               "resume it with tf_maddpg.train(..., resume=True)")
        try:
            check_same_scenario(args.resume, info, args.env)
        except RunFolderError as error:
            raise CommandError(str(error)) from None
        if args.out and os.path.abspath(args.out) != os.path.abspath(args.resume):
            raise BadInput("--out cannot differ from --resume: a run resumes in its own folder")
        scenario, out_dir, env_kwargs = info.scenario, args.resume, info.env_kwargs
        foreign = [flag_of(f) for f in options if f not in info.config.to_dict()]
        if foreign:
            one = len(foreign) == 1
            raise BadInput(f"{listed(foreign)} {'is not an option' if one else 'are not options'}"
                           f" of --algo {info.config.algo}, the algorithm of {args.resume}; "
                           f"remove {'it' if one else 'them'}")
        try:
            config = info.config.replace(**options) if options else info.config
        except (ValueError, TypeError) as error:
            raise BadInput(config_message(error, options, {}, None)) from None
        try:
            done = check_resume_total(args.resume, config.num_episodes,
                                      "num_episodes" in options)
        except RunFolderError as error:
            raise BadInput(cli_words(str(error))) from None
        check_run_scenario(args.resume, info, config.episode_length)
    else:
        if not args.env:
            raise BadInput("give the scenario to train (ENV), or --resume RUN_DIR")
        try:
            scenario = check_scenario_name(args.env)
        except ValueError as error:
            raise BadInput(str(error)) from None
        config = config_from(args.config, options, args.algo, args.preset)
        env_kwargs = env_kwargs_from(args.env_args, scenario)
        check_scenario_size(scenario, env_kwargs, config)
        try:
            specs = check_scenario(scenario, env_kwargs, config.episode_length)
        except ValueError as error:
            given = " ".join(f"--env-arg {k}={show_value(v)}" for k, v in env_kwargs.items())
            raise BadInput(f"{scenario} cannot run with {given or 'its default options'}: "
                           f"mpe2 fails with {error}; choose other values") from None
        try:
            config.check_agents(specs)
        except ValueError as error:
            given = "".join(f" --env-arg {k}={show_value(v)}" for k, v in env_kwargs.items())
            reason = str(error).replace("(mpe2: continuous_actions=False)",
                                        "(--env-arg continuous_actions=false)")
            raise BadInput(f"--algo {config.algo} cannot train {scenario}{given}: "
                           f"{cli_words(reason)}") from None
        check_buffer_memory(config, specs)
        out_dir = args.out or default_run_dir(scenario, config, env_kwargs)
        check_writable_folder(out_dir, "--out" if args.out else None)

    warnings = short_run_warnings(config)
    for warning in warnings:
        print(f"tf-maddpg train: warning: {warning}", file=sys.stderr)
    if args.resume and not args.quiet:  # loading takes seconds: say what is happening
        print(f"resuming {args.resume} at episode {done} of {config.num_episodes}: loading "
              "TensorFlow and the checkpoint", flush=True)

    tf = load_tensorflow()
    from tf_maddpg.runs.checkpoint import CheckpointError
    from tf_maddpg.training import train

    if args.threads and not set_tensorflow_threads(tf, args.threads):
        print(f"tf-maddpg train: warning: --threads {args.threads} is not applied: "
              "TensorFlow has already started in this Python process with its own thread "
              "pools", file=sys.stderr)
    try:
        result = train(config, scenario, env_kwargs=env_kwargs, out_dir=out_dir,
                       verbose=not args.quiet, resume=bool(args.resume),
                       overwrite=args.overwrite)
    except (RunFolderError, CheckpointError, FloatingPointError, MemoryError) as error:
        raise CommandError(cli_words(first_line(error))) from None
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        raise CommandError(f"cannot write{where}: {error.strerror or error}; check the "
                           "output folder (its disk, its permissions)") from None
    except RuntimeError as error:
        if "environment worker" not in str(error):
            raise
        raise CommandError(worker_message(str(error))) from None
    if result.interrupted:
        stopped = result.stopped_by or "Ctrl-C"
        if args.quiet:  # the run said nothing; the stop is said in one line
            print(f"tf-maddpg train: stopped by {stopped} at episode {result.episodes}, "
                  f"checkpoint saved; continue with: tf-maddpg train --resume {out_dir}",
                  file=sys.stderr)
        return EXIT_STATUS[stopped]
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
        check_output_file(args.render, "--render", (".gif",))
    info = read_run_dir(args.run_dir)
    config = info.config
    episodes = args.episodes or config.eval_episodes
    count = args.render_episodes or 1 if args.render else 0
    if args.seed is not None and args.seed + max(episodes, count) - 1 > MAX_SEED:
        raise BadInput(f"--seed {args.seed} with {max(episodes, count)} episodes runs past the "
                       f"largest seed {MAX_SEED}; give a smaller --seed")
    check_run_scenario(args.run_dir, info, config.episode_length)

    load_tensorflow()
    from tf_maddpg.envs.sources import build_vec_env
    from tf_maddpg.seeding import RunSeeds
    from tf_maddpg.training.evaluation import play_episodes

    policy = load_run_dir_policy(args.run_dir, info)
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
        from tf_maddpg.runs.atomic import write_failure

        try:
            gif_returns = record_gif(policy, info.scenario, args.render,
                                     max_steps=config.episode_length, fps=args.fps or 10.0,
                                     env_kwargs=info.env_kwargs, seeds=gif_seeds)
        except OSError as error:
            raise CommandError(f"cannot write --render {args.render}: {write_failure(error)}; "
                               "free some space, or give another path") from None
        label = (f"one episode, seed {gif_seeds[0]}" if count == 1 else
                 f"{count} episodes, seeds {', '.join(map(str, gif_seeds))}")
        mean = gif_returns.mean(axis=0)
        print(f"wrote {args.render} ({label}; {'returns' if count == 1 else 'mean returns'} "
              + ", ".join(f"{s.name} {r:.2f}" for s, r in zip(info.specs, mean)) + ")")
    return 0


def _export(args, parser) -> int:
    from tf_maddpg.runs.folder import looks_like_run

    out = args.out
    if os.path.exists(out) and not os.path.isdir(out):
        raise BadInput(f"--out {out} is a file; export writes a folder (one SavedModel "
                       "per agent and metadata.json): give a folder name")
    if looks_like_run(out):
        raise BadInput(f"--out {out} is a run folder; export writes a folder of its own (one "
                       "SavedModel per agent and metadata.json): give a new folder, e.g. "
                       f"{os.path.join(os.path.dirname(os.path.normpath(out)) or '.', 'exported')}")
    check_writable_folder(out, "--out", create=False)
    if os.path.isdir(out) and os.listdir(out) and not _is_export(out):
        raise BadInput(f"--out {out} holds files that are not an export of tf-maddpg, which "
                       "export would replace; give a new or empty folder")
    info = read_run_dir(args.run_dir, need_scenario=False)
    tf = load_tensorflow()
    from tf_maddpg.export import export_actors
    from tf_maddpg.runs.actors import load_actors
    from tf_maddpg.runs.atomic import replacing, write_failure
    from tf_maddpg.runs.folder import ACTORS_DIR

    try:
        actors = load_actors(info.specs, os.path.join(args.run_dir, ACTORS_DIR))
    except (FileNotFoundError, ValueError) as error:
        raise CommandError(f"{error} (actors are saved with every checkpoint)") from None
    try:
        # Written beside --out, then renamed into its place: a failed export leaves --out as
        # it was (or absent), and a new export replaces an earlier one whole.
        with replacing(os.path.normpath(out)) as temporary:
            export_actors(actors, info.specs, temporary, scenario=info.scenario,
                          env_kwargs=info.env_kwargs)
    except (OSError, tf.errors.OpError) as error:
        raise CommandError(f"cannot write --out {out}: {write_failure(error)}; nothing was "
                           "exported (free some space, or give another folder)") from None
    for spec in info.specs:
        print(f"{spec.name}: {os.path.join(out, spec.name)}")
    return 0


def _is_export(path: str) -> bool:
    """Whether ``path`` holds an earlier export (its metadata.json names the format)."""
    import json

    try:
        with open(os.path.join(path, "metadata.json")) as f:
            return str(json.load(f).get("format", "")).startswith("tf_maddpg.exported_actors")
    except (OSError, ValueError, AttributeError):
        return False


def _plot(args, parser) -> int:
    from tf_maddpg.runs.folder import METRICS_FILE, RunFolderError, read_run
    from tf_maddpg.runs.metrics import MetricsError, read_metrics

    check_output_file(args.out, "--out", _IMAGE_TYPES)
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
            raise CommandError(first_line(error)) from None
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
    groups = _run_groups(infos)
    title = args.title or (_plot_title(infos, len(runs)) if len(groups) == 1 else
                           "mean and min-max band over the runs of each")

    from tf_maddpg.runs.plots import (common_length, plot_groups, plot_returns,
                                      plot_returns_over_seeds)

    try:
        if len(groups) > 1:  # different algorithms or scenarios are not seeds of one run
            plot_groups({label: [runs[k] for k in members] for label, members in groups.items()},
                        args.out, title=title)
        elif len(runs) == 1:
            plot_returns(runs[0], args.out, title=title)
        else:
            plot_returns_over_seeds(runs, args.out, title=title)
    except OSError as error:
        raise CommandError(f"cannot write {args.out}: {error.strerror or error}") from None
    if len(groups) > 1:
        print("note: the runs are of different " + " or ".join(_group_kinds(infos)) + " ("
              + "; ".join(f"{label}: {', '.join(args.run_dirs[k] for k in members)}"
                          for label, members in groups.items())
              + "): each is drawn as its own curves, not averaged with the others")
    if len(runs) > 1:
        length = common_length(runs)
        if any(len(rows) != length for rows in runs):
            last = runs[0][length - 1]["episode"]
            print("note: the runs reached different lengths ("
                  + ", ".join(f"{d}: episode {rows[-1]['episode']}"
                              for d, rows in zip(args.run_dirs, runs))
                  + f"); the curves stop at episode {last}, the last evaluation of every run")
    print(f"wrote {args.out}"
          + (f" ({len(groups)} groups of runs, each its mean with a min-max band)"
             if len(groups) > 1 else
             f" (mean of {len(runs)} runs with a min-max band)" if len(runs) > 1 else ""))
    return 0


def _run_groups(infos) -> dict:
    """The runs that are seeds of one experiment (the same algorithm, scenario and options,
    as far as their run.json and config.json say): label -> run indices, in order."""
    kinds = _group_kinds(infos)
    if not kinds:
        return {"": list(range(len(infos)))}
    groups = {}
    for k, info in enumerate(infos):
        if info is None:
            label = "unknown run"
        else:
            parts = {"scenarios": f"{info.scenario}{options_text(info.env_kwargs)}",
                     "algorithms": info.config.algo}
            label = ", ".join(parts[kind] for kind in kinds)
        groups.setdefault(label, []).append(k)
    return groups


def _group_kinds(infos) -> list:
    """What differs between the runs: "algorithms", "scenarios" (or their options)."""
    known = [i for i in infos if i is not None]
    kinds = []
    if len({(i.scenario, repr(sorted(i.env_kwargs.items()))) for i in known}) > 1:
        kinds.append("scenarios")
    if len({i.config.algo for i in known}) > 1:
        kinds.append("algorithms")
    return kinds


def _plot_title(infos, count: int) -> Optional[str]:
    known = [i for i in infos if i is not None]
    if not known:
        return None
    first = known[0]
    name = first.scenario or "a Python environment"
    options = options_text(first.env_kwargs)
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
    config = config_from(args.config, config_options(args))
    env_kwargs = env_kwargs_from(args.env_args, args.env)
    if config.algo != "maddpg":
        raise BadInput(f"compare trains the PyTorch reference, which is MADDPG; --config asks "
                       f"for algo {config.algo}")
    check_scenario_size(args.env, env_kwargs, config)
    try:
        check_scenario(args.env, env_kwargs, config.episode_length)
    except ValueError as error:
        raise BadInput(f"{args.env} cannot run with these --env-arg options: mpe2 fails with "
                       f"{error}") from None
    from tf_maddpg.compare import OUTPUTS

    present = [name for name in OUTPUTS if os.path.exists(os.path.join(args.out, name))]
    if present and not args.overwrite:
        raise BadInput(f"--out {args.out} holds a comparison already ({', '.join(present)}); "
                       "give another --out, or --overwrite to replace it")
    check_writable_folder(args.out, "--out")
    load_tensorflow()
    try:
        from tf_maddpg.compare import compare
    except ImportError as error:
        raise CommandError(str(error)) from None
    from tf_maddpg.sweep.errors import RayConnectError
    from tf_maddpg.sweep.run import default_engine

    engine = args.engine or (default_engine() if args.jobs > 1 or args.address else "local")
    if args.address and engine != "ray":
        raise BadInput("--address is a Ray cluster's; it needs --engine ray")
    command_line = "tf-maddpg " + shlex.join(args.argv)
    try:
        summaries = compare(args.env, args.seeds, config, args.out, env_kwargs=env_kwargs,
                            jobs=args.jobs, engine=engine, address=args.address,
                            command=command_line)
    except (ImportError, RayConnectError) as error:
        raise CommandError(str(error)) from None
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

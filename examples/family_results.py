"""The whole family at one budget: every algorithm on five mpe2 scenarios, three seeds,
2M env steps per run; the table, and curves against env steps and wall-clock time.

    python examples/family_results.py run --jobs 2        # trains whatever is missing
    python examples/family_results.py run --algos mappo   # one algorithm
    python examples/family_results.py report              # docs/results/family/README.md
    python examples/family_results.py run --probe         # IQL and VDN with gamma 0.9

``run`` trains each (scenario, algorithm, seed) as one sweep (``tf_maddpg.sweep``,
``sweep_file`` below) with the algorithm's default settings (but IQL's and VDN's
discount: ``TABLE_OPTIONS``), 80,000 episodes of 25 steps (2M env steps),
evaluating every 3,200 episodes (80,000 env steps) on 100 greedy episodes,
into ``runs/family/SCENARIO/ALGO/seedS``; it skips finished runs and resumes
stopped ones. MADDPG and MATD3 act in 16 environments at once (``--num-envs
16``: the same update schedule, counted in env steps, as one environment).
``report`` copies each run's metrics.csv and config.json to
``docs/results/family/``, draws per scenario the curves of every algorithm
(the mean return per agent of each agent group, mean and min-max band over
the seeds) against env steps and against wall-clock seconds, and writes the
table into ``docs/results/family/README.md`` between its markers.

``--probe`` trains the discount probe instead: IQL and VDN with gamma 0.9 (their
default now, 0.99 in the table) on the three cooperative scenarios, 3 seeds,
half the budget, into ``runs/family_gamma/``; ``report`` sets it beside the
table's runs at the same env steps (``probe_report``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from typing import List

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario_results import (Row, _mean_std, finished, groups, random_returns,  # noqa: E402
                              slug, write_between)

from tf_maddpg.algorithms.registry import ALGORITHMS  # noqa: E402

ALGOS = tuple(ALGORITHMS)
SEEDS = (0, 1, 2)
EPISODES = 80_000
EVAL_INTERVAL = 3_200
RUNS_DIR = os.path.join("runs", "family")
DOCS_DIR = os.path.join("docs", "results", "family")
LAST = 3  # the final return: mean of the last LAST evaluations (the last 240k env steps)
MARKERS = ("<!-- family table: start -->", "<!-- family table: end -->")
# A run made another way than the table's (another machine, or one BLAS thread) says how
# in this file of its folder; its speed (and wall-clock curve) is marked, the file copied.
MADE_ON = "made_on.txt"
ROWS = [
    Row("simple_spread", "simple_spread_v3", EPISODES),
    Row("simple_speaker_listener", "simple_speaker_listener_v4", EPISODES),
    Row("simple_reference", "simple_reference_v3", EPISODES),
    Row("simple_adversary", "simple_adversary_v3", EPISODES, teams=(("adversary",), ("agent",))),
    Row("simple_tag", "simple_tag_v3", EPISODES, teams=(("adversary",), ("agent",))),
]
OFF_POLICY_ENVS = 16
TABLE_OPTIONS = {"iql": {"gamma": 0.99}, "vdn": {"gamma": 0.99}}
"""The table's settings that are not the algorithm's default: IQL and VDN ran with
EPyMARL's discount 0.99, their default until JaxMARL's 0.9 did better (the page's
section "IQL and VDN with gamma 0.9"); pinned so that the missing runs match the rest."""

# The discount probe: IQL and VDN with gamma 0.9 on the cooperative rows, 1M env steps.
PROBE_DIR = os.path.join("runs", "family_gamma")
PROBE_DOCS = os.path.join(DOCS_DIR, "gamma0.9")
PROBE_ROWS = ROWS[:3]
PROBE_ALGOS = ("iql", "vdn")
PROBE_EPISODES = 40_000
PROBE_OPTIONS = {"gamma": 0.9}
PROBE_STEPS = (480_000, 960_000)  # where the two discounts are compared
PROBE_MARKERS = ("<!-- gamma table: start -->", "<!-- gamma table: end -->")


def run_dir(row: Row, algo: str, seed: int) -> str:
    return os.path.join(RUNS_DIR, slug(row), algo, f"seed{seed}")


def probe_dir(row: Row, algo: str, seed: int) -> str:
    return os.path.join(PROBE_DIR, slug(row), algo, f"seed{seed}")


def made_elsewhere(path: str) -> bool:
    """A run made another way than the table's, its speed not comparable (its folder
    holds ``MADE_ON``)."""
    return os.path.exists(os.path.join(path, MADE_ON))


def command(row: Row, algo: str, seed: int) -> List[str]:
    """The ``tf-maddpg train`` command line of one run (the sweep's trial of it)."""
    argv = ["tf-maddpg", "train", row.scenario, "--algo", algo, "--episodes", str(EPISODES),
            "--eval-interval", str(EVAL_INTERVAL), "--eval-episodes", "100",
            "--checkpoint-interval", str(EVAL_INTERVAL * 5), "--seed", str(seed),
            "--out", run_dir(row, algo, seed), "--quiet", "--threads", "1"]
    if ALGORITHMS[algo].loop == "off_policy":
        argv += ["--num-envs", str(OFF_POLICY_ENVS)]
    for field, value in TABLE_OPTIONS.get(algo, {}).items():
        argv += ["--" + field.replace("_", "-"), str(value)]
    return argv


def sweep_file(algos, seeds, only=None, rows=ROWS, episodes=EPISODES,
               options=TABLE_OPTIONS) -> dict:
    """The sweep (``tf-maddpg sweep``'s file) of these runs: what ``command`` gives
    (``options``: settings per algorithm on top of its defaults)."""
    return {"scenarios": [{"scenario": row.scenario, "name": slug(row)} for row in rows
                          if not only or slug(row) in only],
            "algorithms": [{"algo": a, "options": {"num_envs": OFF_POLICY_ENVS,
                                                   **options.get(a, {})}}
                           if ALGORITHMS[a].loop == "off_policy" else a for a in algos],
            "seeds": list(seeds),
            "options": {"episodes": episodes, "eval_interval": EVAL_INTERVAL,
                        "eval_episodes": 100, "checkpoint_interval": EVAL_INTERVAL * 5}}


def run_all(jobs: int, algos, seeds, only, engine=None, probe=False) -> None:
    """Trains the missing runs as one sweep into RUNS_DIR (Ray Tune where it is
    installed, else the sweep's engine without Ray): finished runs are skipped, stopped
    ones resume, ``jobs`` runs at a time with one TensorFlow thread each. ``probe``:
    the discount probe's runs into PROBE_DIR instead."""
    from tf_maddpg.sweep import parse_spec, run_sweep
    from tf_maddpg.sweep.run import default_engine

    if probe:
        spec = sweep_file([a for a in algos if a in PROBE_ALGOS], seeds, only, PROBE_ROWS,
                          PROBE_EPISODES, {a: PROBE_OPTIONS for a in PROBE_ALGOS})
    else:
        spec = sweep_file(algos, seeds, only)
    root = PROBE_DIR if probe else RUNS_DIR
    result = run_sweep(parse_spec(spec), root, engine=engine or default_engine(),
                       cpus_per_trial=1, max_concurrent=jobs, report=False)
    for record in result.failed:
        if made_elsewhere(os.path.join(root, record.folder)):
            # Finished on another machine; its checkpoints (the replay buffer) stayed there,
            # so the sweep refuses to resume it: it is kept as it is.
            print(f"kept: {record.folder} (made elsewhere, see its {MADE_ON})", flush=True)
        else:
            print(f"failed: {record.folder}: {record.error}", flush=True)


def copy_run(source: str, target: str) -> None:
    """A finished run's metrics, config and summary (and where it was made) into docs."""
    os.makedirs(target, exist_ok=True)
    for name in ("metrics.csv", "config.json", "run.json"):
        shutil.copy(os.path.join(source, name), target)
    if made_elsewhere(source):
        shutil.copy(os.path.join(source, MADE_ON), target)


def probe_report() -> str:
    """The discount probe's table: IQL and VDN with the table's gamma 0.99 and with 0.9,
    the mean return per agent of each seed at PROBE_STEPS and the mean of the LAST
    evaluations up to the last of them; copies the probe's runs to PROBE_DOCS."""
    from tf_maddpg.runs.metrics import read_metrics

    def at(run, steps):
        (value,) = [np.mean([v for k, v in r.items() if k.startswith("return/")])
                    for r in run if r["env_steps"] == steps]
        return value

    def finals(run):
        kept = [r for r in run if r["env_steps"] <= PROBE_STEPS[-1]][-LAST:]
        return np.mean([np.mean([v for k, v in r.items() if k.startswith("return/")])
                        for r in kept])

    steps = " | ".join(f"{n / 1e6:.2f}M (seeds {'/'.join(map(str, SEEDS))})"
                       for n in PROBE_STEPS)
    lines = [f"| scenario | algorithm | gamma | {steps} | the last {LAST} to "
             f"{PROBE_STEPS[-1] / 1e6:.2f}M, mean ± std |",
             "|---|---|---:|" + "---:|" * (len(PROBE_STEPS) + 1)]
    for row in PROBE_ROWS:
        for a in PROBE_ALGOS:
            for gamma, folder in ((TABLE_OPTIONS[a]["gamma"], run_dir),
                                  (PROBE_OPTIONS["gamma"], probe_dir)):
                seeds = [s for s in SEEDS if finished(folder(row, a, s))]
                if folder is probe_dir:
                    for seed in seeds:
                        copy_run(probe_dir(row, a, seed),
                                 os.path.join(PROBE_DOCS, slug(row), a, f"seed{seed}"))
                runs = [read_metrics(os.path.join(folder(row, a, s), "metrics.csv"))
                        for s in seeds]
                cells = [" / ".join(f"{at(run, n):.2f}" for run in runs) or "-"
                         for n in PROBE_STEPS]
                lines.append(f"| {row.name} | {a.upper()} | {gamma} | " + " | ".join(cells)
                             + f" | {_mean_std([finals(run) for run in runs])} |")
    return "\n".join(lines)


def report() -> None:
    from tf_maddpg.runs.metrics import read_metrics
    from tf_maddpg.runs.plots import draw_mean_and_band, plt

    done = {(row.name, a): [read_metrics(os.path.join(run_dir(row, a, s), "metrics.csv"))
                            for s in SEEDS if finished(run_dir(row, a, s))]
            for row in ROWS for a in ALGOS}
    algos = [a for a in ALGOS if any(done[(row.name, a)] for row in ROWS)]
    lines = ["| scenario | agents | random policy | "
             + " | ".join(a.upper() for a in algos) + " |",
             "|---|---|---:|" + "---:|" * len(algos)]
    speed = ["| scenario | " + " | ".join(a.upper() for a in algos) + " |",
             "|---|" + "---:|" * len(algos)]
    missing, marked = [], []
    for row in ROWS:
        runs = {a: done[(row.name, a)] for a in algos}
        for a in algos:
            if len(runs[a]) < len(SEEDS):
                missing.append(f"{row.name} {a}: {len(runs[a])} of {len(SEEDS)} seeds")
            for seed in SEEDS:
                if finished(run_dir(row, a, seed)):
                    copy_run(run_dir(row, a, seed),
                             os.path.join(DOCS_DIR, slug(row), a, f"seed{seed}"))
        present = [a for a in algos if runs[a]]
        if not present:
            continue
        names = [k[len("return/"):] for k in runs[present[0]][0][0] if k.startswith("return/")]
        team = groups(names)
        rand = random_returns(row)
        # Curves: one panel per agent group, against env steps and against wall time.
        for x, label in (("env_steps", "env steps"), ("wall_s", "wall-clock seconds")):
            fig, axes = plt.subplots(1, len(team), figsize=(6 * len(team), 4), squeeze=False)
            for ax, (group, members) in zip(axes[0], team.items()):
                for a in present:
                    rows = [[{**r, "group": np.mean([r[f"return/{n}"] for n in members])}
                             for r in run] for run in runs[a]]
                    draw_mean_and_band(ax, rows, "group", a.upper(), x=x)
                ax.axhline(np.mean([rand[n] for n in members]), color="gray", ls=":",
                           label="random policy")
                ax.set_title(f"{row.name}: {group} ({len(members)})")
                ax.set_xlabel(label)
                ax.set_ylabel("mean evaluation return per agent")
                ax.grid(alpha=0.3)
                ax.legend(loc="best", fontsize=8)
            fig.tight_layout()
            os.makedirs(os.path.join(DOCS_DIR, slug(row)), exist_ok=True)
            fig.savefig(os.path.join(DOCS_DIR, slug(row), f"by_{x}.png"), dpi=80)
            plt.close(fig)
        for k, (group, members) in enumerate(team.items()):
            cells = []
            for a in algos:
                finals = [np.mean([np.mean([r[f"return/{n}"] for n in members])
                                   for r in run[-LAST:]]) for run in runs[a]]
                cells.append(_mean_std(finals))
            plots = (f" ([steps]({slug(row)}/by_env_steps.png) "
                     f"[time]({slug(row)}/by_wall_s.png))") if k == 0 else ""
            lines.append(f"| {row.name if k == 0 else ''}{plots} | {group} ({len(members)}) | "
                         f"{np.mean([rand[n] for n in members]):.2f} | " + " | ".join(cells) + " |")
        rates = []
        for a in algos:
            seeds = [seed for seed in SEEDS if finished(run_dir(row, a, seed))]
            values = {seed: run[-1]["env_steps"] / max(run[-1]["wall_s"], 1e-9)
                      for seed, run in zip(seeds, runs[a])}
            elsewhere = [seed for seed in seeds if made_elsewhere(run_dir(row, a, seed))]
            if elsewhere:
                marked.append(f"{row.name} {a.upper()} (seed{'s' if len(elsewhere) > 1 else ''} "
                              + ", ".join(map(str, elsewhere)) + ")")
            # The speed of the runs made the table's way where there are any.
            own = [v for seed, v in values.items() if seed not in elsewhere]
            shown = own or list(values.values())
            rates.append((f"{np.median(shown):,.0f}" + ("" if own else " †")) if shown else "-")
        speed.append(f"| {row.name} | " + " | ".join(rates) + " |")
    table = "\n".join(lines)
    table += ("\n\nEnv steps per second of training, evaluations included (median over the "
              "seeds' runs, two or more runs side by side on 2 shared cores, one TensorFlow "
              "thread each, and, before `--threads` limited it, NumPy's BLAS with a spinning "
              "thread per core in every run: a slowdown of up to 6x for two runs, which "
              "these figures carry unevenly; see docs/benchmarks.md, \"BLAS threads\", and "
              "the README's benchmark for speeds that compare):\n\n" + "\n".join(speed))
    if marked:
        table += ("\n\nMade on another machine, or here with NumPy's BLAS on one thread "
                  "per run (each run's " + MADE_ON + ", copied beside its metrics, says how): "
                  + "; ".join(marked) + ". Their returns compare with the others (the same "
                  "command line); their speeds and wall-clock curves do not: a speed above "
                  "is of the seeds made the table's way where there are any, and marked † "
                  "where all were made elsewhere.")
    if missing:
        table += "\n\nNot run yet: " + "; ".join(missing) + "."
    absent = [a.upper() for a in ALGOS if a not in algos]
    if absent:
        table += ("\n\nNo finished run yet (no column): " + ", ".join(absent)
                  + f", on all {len(ROWS)} scenarios.")
    write_between(os.path.join(DOCS_DIR, "README.md"), MARKERS, table)
    print(table)
    probe = probe_report()
    write_between(os.path.join(DOCS_DIR, "README.md"), PROBE_MARKERS, probe)
    print(probe)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train the runs that are missing")
    run.add_argument("--jobs", type=int, default=2)
    run.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    run.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    run.add_argument("--only", nargs="+", help="scenario folder names")
    run.add_argument("--engine", choices=("ray", "local"), default=None,
                     help="the sweep's engine (default: ray where Ray Tune is installed)")
    run.add_argument("--probe", action="store_true",
                     help="the discount probe (IQL and VDN, gamma 0.9) instead of the table")
    sub.add_parser("report", help="write docs/results/family/README.md and the plots")
    args = parser.parse_args(argv)
    if args.command == "run":
        run_all(args.jobs, args.algos, args.seeds, args.only, args.engine, args.probe)
    else:
        report()
    return 0


if __name__ == "__main__":
    sys.exit(main())

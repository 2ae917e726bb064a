"""Every mpe2 scenario with MADDPG and MATD3, three seeds each: the runs and the results table.

    python examples/scenario_results.py run --jobs 2       # trains whatever is missing
    python examples/scenario_results.py report             # docs/results/README.md and plots

``run`` trains each (row, algorithm, seed) below with the default settings
(the PyTorch reference's) as one sweep (``tf_maddpg.sweep``: Ray Tune where it
is installed, else the sweep's engine without Ray; ``sweep-file`` prints it for
``tf-maddpg sweep``), into ``runs/results/ROW/ALGO/seedS``, two at a time with
one TensorFlow thread each. It skips finished runs and resumes stopped ones,
so it can be stopped and run again. ``report`` reads those folders (a run not re-made on
this machine: its copy kept under docs/results; the competitive rows' scores against random
opponents need the run folders, whose actors play), copies each run's metrics.csv,
config.json and run.json to ``docs/results/ROW/ALGO/seedS/``, draws
``docs/results/ROW/ALGO.png`` with ``tf-maddpg plot`` over the seeds, scores a
uniformly random policy on the same evaluation episodes, and writes the
table into ``docs/results/README.md`` between its two table markers.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shlex
import shutil
import sys
from typing import Dict, List, Optional

import numpy as np

from tf_maddpg.algorithms.teams import groups
from tf_maddpg.runtime import load_tensorflow
from tf_maddpg.sweep import report as sweep_report

ALGOS = ("maddpg", "matd3")  # this table; examples/family_results.py has the whole family
SEEDS = (0, 1, 2)
RUNS_DIR = os.path.join("runs", "results")
DOCS_DIR = os.path.join("docs", "results")
LAST = 5  # the final return: mean of the last LAST evaluations of a run
MARKERS = ("<!-- results table: start -->", "<!-- results table: end -->")
MADDPG_EPISODE_LENGTH = 25
_mean_std = sweep_report.mean_std


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the table: a scenario with its options and the episodes per run."""

    name: str
    scenario: str
    episodes: int
    env_args: tuple = ()
    published: str = ""
    teams: tuple = ()  # competitive scenarios: the agent groups that share a side

    def command(self, algo: str, seed: int, out: str, threads: Optional[int] = 1) -> List[str]:
        """The ``tf-maddpg train`` command line of one run."""
        argv = ["tf-maddpg", "train", self.scenario, "--algo", algo, "--episodes",
                str(self.episodes), "--eval-interval", str(self.episodes // 50),
                "--seed", str(seed), "--out", out, "--quiet"]
        for key, value in self.env_args:
            argv += ["--env-arg", f"{key}={str(value).lower() if isinstance(value, bool) else value}"]
        if threads:
            argv += ["--threads", str(threads)]
        return argv


ROWS = [
    Row("simple", "simple_v3", 5_000),
    Row("simple_adversary", "simple_adversary_v3", 5_000, teams=(("adversary",), ("agent",)),
        published="PyTorch reference on mpe2, seed 0: adversary -15.95, agents +6.53 "
                  "(REFERENCE.md); MARLlib MAPPO at 20M steps: adversary about -15.6, agents "
                  "about +8.5"),
    Row("simple_spread", "simple_spread_v3", 10_000,
        published="MARLlib MAPPO at 20M steps: about -32.6 per agent"),
    Row("simple_tag", "simple_tag_v3", 10_000, teams=(("adversary",), ("agent",))),
    Row("simple_speaker_listener", "simple_speaker_listener_v4", 10_000,
        published="openai/maddpg paper: MADDPG reaches the target far more often than DDPG "
                  "(no return given)"),
    Row("simple_push", "simple_push_v3", 5_000, teams=(("adversary",), ("agent",))),
    Row("simple_reference", "simple_reference_v3", 10_000),
    Row("simple_crypto", "simple_crypto_v3", 10_000, teams=(("eve",), ("alice", "bob"))),
    Row("simple_world_comm", "simple_world_comm_v3", 5_000,
        teams=(("leadadversary", "adversary"), ("agent",))),
    Row("collect_treasure", "collect_treasure_v1", 5_000),
    Row("simple_formation", "simple_formation_v1", 5_000),
    Row("simple_line", "simple_line_v1", 5_000),
    Row("simple_spread (continuous)", "simple_spread_v3", 10_000,
        (("continuous_actions", True),)),
    Row("simple_adversary (continuous)", "simple_adversary_v3", 5_000,
        (("continuous_actions", True),), teams=(("adversary",), ("agent",))),
]


def slug(row: Row) -> str:
    """The row's folder name: ``simple_spread (continuous)`` -> ``simple_spread-continuous``."""
    return re.sub(r"[ ()]+", "-", row.name).strip("-")


def run_dir(row: Row, algo: str, seed: int) -> str:
    return os.path.join(RUNS_DIR, slug(row), algo, f"seed{seed}")


def finished(path: str) -> bool:
    """A run that ended (its SavedModels are written last)."""
    return os.path.isdir(os.path.join(path, "saved_model"))


def docs_dir(row: Row, algo: str, seed: int) -> str:
    return os.path.join(DOCS_DIR, slug(row), algo, f"seed{seed}")


def run_source(row: Row, algo: str, seed: int) -> Optional[str]:
    """The folder holding the run's metrics: the finished run under RUNS_DIR, else its
    copy kept under DOCS_DIR (a run not re-made on this machine), else None."""
    if finished(run_dir(row, algo, seed)):
        return run_dir(row, algo, seed)
    kept = docs_dir(row, algo, seed)
    return kept if os.path.exists(os.path.join(kept, "metrics.csv")) else None


# --- run ----------------------------------------------------------------------------------

def sweep_file(rows, algos, seeds) -> dict:
    """The sweep (``tf-maddpg sweep``'s file) of these rows: each row a scenario entry
    named by its folder, with its episodes and evaluation interval."""
    return {"scenarios": [{"scenario": row.scenario, "name": slug(row),
                           "env_args": dict(row.env_args),
                           "options": {"episodes": row.episodes,
                                       "eval_interval": row.episodes // 50}} for row in rows],
            "algorithms": list(algos), "seeds": list(seeds)}


def run_all(jobs: int, only: Optional[List[str]], algos, seeds,
            engine: Optional[str] = None) -> None:
    """Trains the missing runs as one sweep into RUNS_DIR (Ray Tune where it is
    installed, else the sweep's engine without Ray): finished runs are skipped, stopped
    ones resume, ``jobs`` runs at a time with one TensorFlow thread each."""
    from tf_maddpg.sweep import parse_spec, run_sweep
    from tf_maddpg.sweep.run import default_engine

    rows = [row for row in ROWS if not only or slug(row) in only or row.name in only]
    spec = parse_spec(sweep_file(rows, algos, seeds))
    result = run_sweep(spec, RUNS_DIR, engine=engine or default_engine(), cpus_per_trial=1,
                       max_concurrent=jobs, report=False)
    for record in result.failed:
        print(f"failed: {record.folder}: {record.error}", flush=True)


# --- report ----------------------------------------------------------------------------

def random_returns(row: Row, episodes: int = 100, run: Optional[str] = None,
                   trained: tuple = ()) -> Dict[str, float]:
    """``tf_maddpg.training.baselines.random_returns`` for a row (see there)."""
    load_tensorflow()  # quietly, before tf_maddpg.training loads it
    from tf_maddpg.training import baselines

    return baselines.random_returns(row.scenario, dict(row.env_args), episodes,
                                    MADDPG_EPISODE_LENGTH, run=run, trained=trained)


def versus_random(row: Row, runs: Dict[str, List[str]], rand: Dict[str, float],
                  episodes: int = 100) -> List[str]:
    """Table lines: each side of a competitive scenario, trained, against random opponents."""
    lines = []
    for team in row.teams:
        scores = {algo: [random_returns(row, episodes, run=r, trained=team) for r in runs[algo]]
                  for algo in ALGOS}
        for group, members in groups(rand).items():
            if group not in team:
                continue
            cells = [_mean_std([np.mean([score[n] for n in members]) for score in scores[a]])
                     for a in ALGOS]
            lines.append(f"| {row.name} | {group} ({len(members)}) | "
                         f"{np.mean([rand[n] for n in members]):.2f} | {cells[0]} | {cells[1]} |")
    return lines


def report() -> None:
    from tf_maddpg.cli import main as tf_maddpg
    from tf_maddpg.runs.metrics import read_metrics

    lines = ["| scenario | agents | random policy | first evaluation | MADDPG | MATD3 "
             "| episodes / env steps per run | wall time per run (MADDPG / MATD3) | published |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    versus = ["| scenario | agents (trained) | random policy | MADDPG's actors | MATD3's actors |",
              "|---|---|---:|---:|---:|"]
    missing = []
    for row in ROWS:
        sources = {algo: [source for source in (run_source(row, algo, s) for s in SEEDS)
                          if source] for algo in ALGOS}
        runs = {algo: [read_metrics(os.path.join(source, "metrics.csv"))
                       for source in sources[algo]] for algo in ALGOS}
        for algo in ALGOS:
            if len(runs[algo]) < len(SEEDS):
                missing.append(f"{row.name} {algo}: {len(runs[algo])} of {len(SEEDS)} seeds")
            for seed in SEEDS:
                source = run_dir(row, algo, seed)
                if not finished(source):
                    continue
                target = docs_dir(row, algo, seed)
                os.makedirs(target, exist_ok=True)
                for name in ("metrics.csv", "config.json", "run.json"):
                    shutil.copy(os.path.join(source, name), target)
            if runs[algo]:
                tf_maddpg(["plot", *sources[algo],
                           "--out", os.path.join(DOCS_DIR, slug(row), f"{algo}.png"),
                           "--title", f"{algo.upper()} on {row.name}"])
        if not any(runs.values()):
            continue
        sample = next(r for r in runs.values() if r)[0][0]
        names = [k[len("return/"):] for k in sample if k.startswith("return/")]
        rand = random_returns(row)
        cells = {}
        for algo in ALGOS:
            finals = [{n: np.mean([r[f"return/{n}"] for r in rows[-LAST:]]) for n in names}
                      for rows in runs[algo]]
            cells[algo] = {g: _mean_std([np.mean([f[n] for n in members]) for f in finals])
                           for g, members in groups(names).items()}
        # Every run's first evaluation (before or just after its first updates), both algorithms.
        first = {g: _mean_std([np.mean([rows[0][f"return/{n}"] for n in members])
                               for algo in ALGOS for rows in runs[algo]])
                 for g, members in groups(names).items()}
        last_row = next(r for r in runs.values() if r)[0][-1]  # a run's last evaluation
        walls = " / ".join(
            f"{np.mean([rows[-1]['wall_s'] for rows in runs[a]]) / 60:.1f} min" if runs[a] else "-"
            for a in ALGOS)
        plots = " ".join(f"[{a}]({slug(row)}/{a}.png)" for a in ALGOS if runs[a])
        for k, (group, members) in enumerate(groups(names).items()):
            random_group = np.mean([rand[n] for n in members])
            lead = (f"{row.name} ({plots})", f"{int(last_row['episode'])} / {int(last_row['env_steps'])}",
                    walls, row.published) if k == 0 else ("", "", "", "")
            lines.append(f"| {lead[0]} | {group} ({len(members)}) | {random_group:.2f} | "
                         f"{first[group]} | {cells['maddpg'].get(group, '-')} | {cells['matd3'].get(group, '-')} | "
                         f"{lead[1]} | {lead[2]} | {lead[3]} |")
        versus += versus_random(row, {a: [run_dir(row, a, s) for s in SEEDS
                                          if finished(run_dir(row, a, s))] for a in ALGOS}, rand)
    table = "\n".join(lines)
    table += ("\n\nCompetitive scenarios, each side against opponents that act at random: "
              "the side's mean return per agent (mean ± std over the seeds' actors), beside "
              "its return when it acts at random too.\n\n" + "\n".join(versus))
    if missing:
        table += "\n\nNot finished yet: " + "; ".join(missing) + "."
    write_between(os.path.join(DOCS_DIR, "README.md"), MARKERS, table)
    print(table)


def write_between(path: str, markers, text: str) -> None:
    """Replaces what lies between the two ``markers`` of the file ``path`` with ``text``."""
    with open(path) as f:
        old = f.read()
    start, end = old.index(markers[0]) + len(markers[0]), old.index(markers[1])
    with open(path, "w") as f:
        f.write(old[:start] + "\n" + text + "\n" + old[end:])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train the runs that are missing")
    run.add_argument("--jobs", type=int, default=2)
    run.add_argument("--only", nargs="+", help="row names or folder names")
    run.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    run.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    run.add_argument("--engine", choices=("ray", "local"), default=None,
                     help="the sweep's engine (default: ray where Ray Tune is installed)")
    sub.add_parser("report", help="write docs/results/README.md's table and the plots")
    sub.add_parser("commands", help="print every run's command line")
    sub.add_parser("sweep-file", help="print the sweep file of every run (for tf-maddpg "
                                      "sweep FILE --out runs/results)")
    args = parser.parse_args(argv)
    if args.command == "run":
        run_all(args.jobs, args.only, args.algos, args.seeds, args.engine)
    elif args.command == "report":
        report()
    elif args.command == "sweep-file":
        import yaml

        print(yaml.safe_dump(sweep_file(ROWS, ALGOS, SEEDS), sort_keys=False), end="")
    else:
        for row in ROWS:
            for algo in ALGOS:
                for seed in SEEDS:
                    print(shlex.join(row.command(algo, seed, run_dir(row, algo, seed))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Env steps per second of training, every algorithm of the registry, as a user runs it.

Each algorithm trains with its own default settings through ``tf-maddpg
train SCENARIO --algo ALGO --out DIR`` (a fresh subprocess with its run
folder: metrics, checkpoints, plot, SavedModels), for about ``--env-steps``
env steps. Its rate is the steady state read from the run's metrics.csv:
env steps over wall-clock seconds from the first evaluation (past the
tracing of the first updates and the replay warm-up where the first
evaluation comes after it) to the last; evaluations are ``--eval-episodes``
greedy episodes and count in the time. The algorithms take turns once per
repeat; the table gives the median over repeats and the ratio to MADDPG's
median (the peer), measured in the same run.

Run from the repository root, with nothing else running:

    python benchmarks/algorithms.py --repeats 3
    python benchmarks/algorithms.py --repeats 3 --off-policy-envs 16
    python benchmarks/algorithms.py --algos maddpg iql vdn qmix --gru   # + the GRU agents

``--gru`` adds a row per value-based algorithm with its GRU agent (``--agent gru``,
episode replay), measured in the same turns.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time

from tf_maddpg.algorithms.registry import ALGORITHMS


def episodes_and_interval(algo: str, env_steps: int, length: int, off_policy_envs: int):
    """(episodes, eval_interval, num_envs): about ``env_steps`` in 8 evaluation intervals,
    each a whole number of the algorithm's rollouts."""
    config = ALGORITHMS[algo].config_class()
    envs = config.num_envs if ALGORITHMS[algo].loop == "on_policy" else off_policy_envs
    interval = max(envs, round(env_steps / length / 8 / envs) * envs)
    return interval * 8, interval, envs


GRU = "-gru"  # a row's suffix: the value-based algorithm with ``--agent gru``


def measure(row: str, args) -> float:
    algo = row.removesuffix(GRU)
    episodes, interval, envs = episodes_and_interval(algo, args.env_steps, 25,
                                                     args.off_policy_envs)
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "run")
        argv = ["tf-maddpg", "train", args.scenario, "--algo", algo, "--episodes", str(episodes),
                "--eval-interval", str(interval), "--eval-episodes", str(args.eval_episodes),
                "--num-envs", str(envs), "--out", out, "--quiet"]
        if row.endswith(GRU):
            argv += ["--agent", "gru"]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "metrics.csv")) as f:
            rows = list(csv.DictReader(f))
    first, last = rows[0], rows[-1]
    return ((float(last["env_steps"]) - float(first["env_steps"]))
            / (float(last["wall_s"]) - float(first["wall_s"])))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="simple_spread_v3")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--env-steps", type=int, default=400_000,
                        help="env steps per run, about (default: 400000)")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--off-policy-envs", type=int, default=1,
                        help="--num-envs of the off-policy algorithms (default: 1, their default)")
    parser.add_argument("--algos", nargs="+", default=list(ALGORITHMS), choices=list(ALGORITHMS))
    parser.add_argument("--gru", action="store_true",
                        help="also the value-based algorithms of --algos with --agent gru")
    args = parser.parse_args(argv)
    rows = list(args.algos)
    if args.gru:
        rows += [a + GRU for a in args.algos if hasattr(ALGORITHMS[a].config_class(), "agent")]
    rates = {row: [] for row in rows}
    started = time.time()
    for repeat in range(args.repeats):
        for row in rows:
            rates[row].append(measure(row, args))
            print(f"[{time.time() - started:6.0f}s] repeat {repeat + 1} {row}: "
                  f"{rates[row][-1]:,.0f} env steps/s", file=sys.stderr, flush=True)
    peer = statistics.median(rates["maddpg"]) if "maddpg" in rates else None
    print(f"\n{args.scenario}, {args.env_steps:,} env steps per run, median of {args.repeats}"
          f" (off-policy algorithms with --num-envs {args.off_policy_envs})\n")
    print("| algorithm | rollout envs | env steps/s (median) | runs | against MADDPG |")
    print("|---|---:|---:|---|---:|")
    for row in rows:
        median = statistics.median(rates[row])
        envs = episodes_and_interval(row.removesuffix(GRU), args.env_steps, 25,
                                     args.off_policy_envs)[2]
        runs = ", ".join(f"{r:,.0f}" for r in rates[row])
        ratio = f"{median / peer:.2f}" if peer else "-"
        print(f"| {row} | {envs} | {median:,.0f} | {runs} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Runs side by side, one per core: NumPy's BLAS with one thread against one per core.

``tf-maddpg train ... --threads 1`` (one run per core, as the results scripts and a
local sweep run them) gives NumPy's BLAS one thread (``limit_blas_threads``). Before,
OpenBLAS started one thread per core in every run, and its threads spin while they
wait: each small matrix product of a run waited for a core that the other runs held.
This benchmark starts ``--jobs`` runs at once, each ``tf-maddpg train SCENARIO --algo
ALGO --threads 1`` with its run folder, first with ``OPENBLAS_NUM_THREADS`` and
``OMP_NUM_THREADS`` set to the number of cores (what the runs got before: a variable
the user sets is kept), then without (what they get now), in turns, ``--repeats``
times. A run's rate is its env steps over wall-clock seconds from its first evaluation
to its last (``algorithms.py``'s measure); the table gives the median over all runs of
each setting and the ratio between them, measured in the same turns.

Run from the repository root, with nothing else running:

    python benchmarks/blas_threads.py --repeats 3
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

from tf_maddpg.runtime import BLAS_THREAD_VARIABLES


def side_by_side(args, blas_threads) -> list:
    """Starts ``args.jobs`` runs at once and returns their rates (env steps/s)."""
    env = dict(os.environ)
    for name in BLAS_THREAD_VARIABLES:
        env.pop(name, None)
        if blas_threads:
            env[name] = str(blas_threads)
    with tempfile.TemporaryDirectory() as folder:
        outs = [os.path.join(folder, f"run{k}") for k in range(args.jobs)]
        runs = [subprocess.Popen(
            ["tf-maddpg", "train", args.scenario, "--algo", args.algo, "--seed", str(k),
             "--episodes", str(args.episodes), "--eval-interval", str(args.episodes // 4),
             "--eval-episodes", "10", "--num-envs", "16", "--threads", "1", "--quiet",
             "--out", out], env=env, stdout=subprocess.DEVNULL) for k, out in enumerate(outs)]
        for run in runs:
            if run.wait() != 0:
                raise SystemExit(f"a run failed (exit status {run.returncode})")
        rates = []
        for out in outs:
            with open(os.path.join(out, "metrics.csv")) as f:
                rows = list(csv.DictReader(f))
            rates.append((float(rows[-1]["env_steps"]) - float(rows[0]["env_steps"]))
                         / (float(rows[-1]["wall_s"]) - float(rows[0]["wall_s"])))
    return rates


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="simple_tag_v3")
    parser.add_argument("--algo", default="iql")
    parser.add_argument("--episodes", type=int, default=1_600,
                        help="episodes per run (default: 1600, 40,000 env steps)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(),
                        help="runs at once (default: one per core)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    cores = os.cpu_count()
    settings = {f"one per core ({cores})": cores, "one (now)": None}
    rates = {name: [] for name in settings}
    started = time.time()
    for repeat in range(args.repeats):
        for name, threads in settings.items():
            rates[name] += side_by_side(args, threads)
            print(f"[{time.time() - started:6.0f}s] repeat {repeat + 1}, BLAS threads "
                  f"{name}: " + ", ".join(f"{r:,.0f}" for r in rates[name][-args.jobs:])
                  + " env steps/s", file=sys.stderr, flush=True)
    before = statistics.median(rates[f"one per core ({cores})"])
    print(f"\n{args.algo} on {args.scenario}, {args.jobs} runs side by side on {cores} cores "
          f"(--threads 1 each), {args.episodes} episodes a run, {args.repeats} turns\n")
    print("| BLAS threads per run | env steps/s per run (median) | runs | against one per core |")
    print("|---|---:|---|---:|")
    for name in settings:
        median = statistics.median(rates[name])
        runs = ", ".join(f"{r:,.0f}" for r in rates[name])
        print(f"| {name} | {median:,.0f} | {runs} | {median / before:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

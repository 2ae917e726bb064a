"""NumPy's BLAS on one thread against one per core, in runs side by side or alone.

The on-policy loop runs NumPy's BLAS on one thread (``runtime.one_blas_thread``),
and ``tf-maddpg train ... --threads N`` gives the processes a run starts N
(``limit_blas_threads``). Before, OpenBLAS had a thread per core in every run, and its
threads spin while they wait: each small matrix product of a run waited for a core
that another run held, and an on-policy run alone lost the cores its TensorFlow update
needed after each product of its actors.

This benchmark starts ``--jobs`` runs at once, each ``tf-maddpg train SCENARIO --algo
ALGO --num-envs E [--threads T]`` with its run folder, first as the runs were before
(``OPENBLAS_NUM_THREADS`` and ``OMP_NUM_THREADS`` set to the number of cores and
the on-policy loop without ``one_blas_thread``), then as they are now, in turns, ``--repeats``
times. A run's rate is its env steps over wall-clock seconds from its first evaluation
to its last (``algorithms.py``'s measure); the table gives the median over all runs of
each setting and the ratio between them, measured in the same turns.

Run from the repository root, with nothing else running:

    python benchmarks/blas_threads.py --repeats 3          # two IQL runs, one per core
    python benchmarks/blas_threads.py --repeats 3 --jobs 1 --threads 0 --algo ippo \
        --scenario simple_spread_v3 --num-envs 128 --episodes 12800   # IPPO alone
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


BEFORE = ("import contextlib, sys\n"
          "import tf_maddpg.training.on_policy as loop\n"
          "loop.one_blas_thread = contextlib.nullcontext\n"
          "from tf_maddpg.cli import main\n"
          "sys.exit(main(sys.argv[1:]))\n")
"""``tf-maddpg`` as it was before the on-policy loop limited NumPy's BLAS (the limit
taken out)."""


def side_by_side(args, blas_threads) -> list:
    """Starts ``args.jobs`` runs at once and returns their rates (env steps/s):
    with ``blas_threads``, as before (that many BLAS threads from the environment
    variables, no limit in the on-policy loop); without, as now."""
    env = dict(os.environ)
    for name in BLAS_THREAD_VARIABLES:
        env.pop(name, None)
        if blas_threads:
            env[name] = str(blas_threads)
    program = [sys.executable, "-c", BEFORE] if blas_threads else ["tf-maddpg"]
    threads = ["--threads", str(args.threads)] if args.threads else []
    with tempfile.TemporaryDirectory() as folder:
        outs = [os.path.join(folder, f"run{k}") for k in range(args.jobs)]
        runs = [subprocess.Popen(
            program + ["train", args.scenario, "--algo", args.algo, "--seed", str(k),
                       "--episodes", str(args.episodes),
                       "--eval-interval", str(args.episodes // 4), "--eval-episodes", "10",
                       "--num-envs", str(args.num_envs), "--quiet", "--out", out] + threads,
            env=env, stdout=subprocess.DEVNULL) for k, out in enumerate(outs)]
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
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1,
                        help="each run's --threads (default: 1, one run per core; 0: not given)")
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
    at_once = f"{args.jobs} runs side by side" if args.jobs > 1 else "one run alone"
    threads = f"--threads {args.threads}" if args.threads else "no --threads"
    print(f"\n{args.algo} on {args.scenario}, {at_once} on {cores} cores ({threads}, "
          f"{args.num_envs} environments), {args.episodes} episodes a run, "
          f"{args.repeats} turns\n")
    print("| BLAS threads per run | env steps/s per run (median) | runs | against one per core |")
    print("|---|---:|---|---:|")
    for name in settings:
        median = statistics.median(rates[name])
        runs = ", ".join(f"{r:,.0f}" for r in rates[name])
        print(f"| {name} | {median:,.0f} | {runs} | {median / before:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

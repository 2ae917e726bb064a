"""tf_maddpg's on-policy training against JaxMARL's compiled loop, on the same cores.

JaxMARL (FLAIROx/JaxMARL) compiles the whole of IPPO's training (the
environments, acting, GAE, the epochs) into one XLA program. This script runs
its ``baselines/IPPO/ippo_ff_mpe.py`` and ``tf-maddpg train --algo ippo`` (and
``--algo mappo``) on simple_spread with the same data per update: 128
environments x 25 steps, 10 epochs of 1 minibatch, and the same network: a
shared actor and critic of 64 x 64, no LayerNorm (JaxMARL's), no value
normalisation, value clipping 0.2, entropy 0.01, gradient norm clipped.
``--ours-defaults`` adds rows with tf_maddpg's own defaults (LayerNorm after
every layer and value normalisation, the MAPPO repository's network).

Each system is a fresh process, timed whole, at two budgets (``--env-steps``
and a quarter of it); the steady rate is the difference of env steps over the
difference of seconds, so what does not grow with the steps (imports, XLA
compiles, TensorFlow's tracing, building the networks) cancels, and is
reported apart as the intercept. Ours keeps everything a user gets: the run
folder, metrics, an evaluation of 10 greedy episodes every ``--eval-every`` env
steps, a checkpoint every 400,000 (the defaults), the SavedModels at the end. The systems take turns
once per repeat; the table gives medians and the ratio to JaxMARL's rate,
measured in the same run.

JaxMARL's script is not part of this repository: clone
https://github.com/FLAIROx/JaxMARL (docs/benchmarks.md names the commit) and
install ``jaxmarl``, ``jax``, ``distrax``, ``hydra-core`` and ``wandb`` into a
Python of their own (jaxmarl pins versions of its own)::

    python3.11 -m venv ~/jaxvenv && ~/jaxvenv/bin/pip install jaxmarl==0.2.0 \\
        "jax[cpu]" distrax hydra-core wandb
    python benchmarks/peers.py --jaxmarl-script ~/JaxMARL/baselines/IPPO/ippo_ff_mpe.py \\
        --jaxmarl-python ~/jaxvenv/bin/python --repeats 3

Without ``--jaxmarl-script`` (or with a Python that cannot import jaxmarl) the
JaxMARL rows are skipped with one line, and ours are still measured.
JaxMARL's MAPPO for MPE is recurrent (``mappo_rnn_mpe.py``): our MAPPO is
compared with its feed-forward IPPO, the nearest loop, and says so.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import _common

ENVS, STEPS, EPOCHS, MINIBATCHES = 128, 25, 10, 1
"""The data per update both sides learn from."""

MATCHED = ["--num-envs", str(ENVS), "--epochs", str(EPOCHS),
           "--num-minibatches", str(MINIBATCHES), "--hidden-sizes", "64", "64",
           "--input-norm", "false", "--hidden-norm", "false", "--value-norm", "false",
           "--value-clip", "0.2", "--entropy-coef", "0.01", "--share-parameters", "true"]
"""tf-maddpg train's options for JaxMARL's settings (its network: no LayerNorm)."""


def jaxmarl_command(args, env_steps: int) -> list:
    return [args.jaxmarl_python, args.jaxmarl_script, f"NUM_ENVS={ENVS}",
            f"NUM_STEPS={STEPS}", f"UPDATE_EPOCHS={EPOCHS}",
            f"NUM_MINIBATCHES={MINIBATCHES}", "NUM_SEEDS=1", f"TOTAL_TIMESTEPS={env_steps}",
            "WANDB_MODE=disabled"]


def ours_command(algo: str, matched: bool, env_steps: int, eval_every: int, out: str) -> list:
    episodes = env_steps // STEPS
    interval = max(ENVS, eval_every // STEPS // ENVS * ENVS)
    return ([sys.executable, "-m", "tf_maddpg", "train", "simple_spread_v3", "--algo", algo,
             "--episodes", str(episodes), "--eval-interval", str(interval),
             "--eval-episodes", "10",
             "--out", out, "--quiet"] + (MATCHED if matched else ["--num-envs", str(ENVS)]))


def seconds(command: list, cwd: str) -> float:
    """Wall-clock seconds of a command run to its end (its output kept out of sight)."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(command)}\n"
                         f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


def jaxmarl_ready(args) -> str:
    """'' when JaxMARL can run, else why not (one line)."""
    if not args.jaxmarl_script:
        return "no --jaxmarl-script given"
    if not os.path.exists(args.jaxmarl_script):
        return f"{args.jaxmarl_script} does not exist"
    check = subprocess.run([args.jaxmarl_python, "-c", "import jaxmarl, distrax, hydra, wandb"],
                           capture_output=True, text=True)
    if check.returncode != 0:
        return (f"{args.jaxmarl_python} cannot import jaxmarl, distrax, hydra and wandb "
                f"({check.stderr.strip().splitlines()[-1] if check.stderr.strip() else ''})")
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jaxmarl-script", help="path of JaxMARL's "
                        "baselines/IPPO/ippo_ff_mpe.py")
    parser.add_argument("--jaxmarl-python", default=sys.executable,
                        help="the Python that has jaxmarl installed (default: this one)")
    parser.add_argument("--env-steps", type=int, default=1_000_000,
                        help="the larger budget (default: 1,000,000); the smaller is a quarter")
    parser.add_argument("--eval-every", type=int, default=80_000,
                        help="env steps between our evaluations (default: 80,000, the "
                             "defaults' 3,200 episodes)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ours-defaults", action="store_true",
                        help="also time IPPO and MAPPO with tf_maddpg's own defaults")
    args = parser.parse_args()
    budgets = (args.env_steps // 4, args.env_steps)
    why_not = jaxmarl_ready(args)
    if why_not:
        print(f"JaxMARL skipped: {why_not}")
    systems = {}
    if not why_not:
        systems["JaxMARL ippo_ff_mpe.py, matched"] = lambda n, folder: jaxmarl_command(args, n)
    for algo in ("ippo", "mappo"):
        systems[f"tf-maddpg train --algo {algo}, matched"] = (
            lambda n, folder, algo=algo: ours_command(algo, True, n, args.eval_every,
                                                      os.path.join(folder, "run")))
        if args.ours_defaults:
            systems[f"tf-maddpg train --algo {algo}, its defaults"] = (
                lambda n, folder, algo=algo: ours_command(algo, False, n, args.eval_every,
                                                          os.path.join(folder, "run")))
    times = {name: {n: [] for n in budgets} for name in systems}
    for repeat in range(args.repeats):
        for n in budgets:
            for name, command in systems.items():
                with tempfile.TemporaryDirectory() as folder:
                    times[name][n].append(seconds(command(n, folder), cwd=folder))
                print(f"[repeat {repeat + 1}] {name}, {n:,} env steps: "
                      f"{times[name][n][-1]:.1f} s", flush=True)
    rows, rates = [], {}
    small, big = budgets
    for name in systems:
        pairs = [(times[name][small][r], times[name][big][r]) for r in range(args.repeats)]
        steady = [(big - small) / (b - a) for a, b in pairs]
        fixed = [a - small / s for (a, _), s in zip(pairs, steady)]
        whole = [big / b for _, b in pairs]
        rates[name] = statistics.median(steady)
        rows.append((name, steady, statistics.median(fixed), statistics.median(whole)))
    peer = rates.get("JaxMARL ippo_ff_mpe.py, matched")
    table = [[name, f"{statistics.median(steady):,.0f}",
              ", ".join(f"{s:,.0f}" for s in steady), f"{fixed:.1f}", f"{whole:,.0f}",
              f"{statistics.median(steady) / peer:.2f}" if peer else "-"]
             for name, steady, fixed, whole in rows]
    print(f"\nsimple_spread_v3, {ENVS} environments x {STEPS} steps, {EPOCHS} epochs x "
          f"{MINIBATCHES} minibatch; steady rate from {small:,} and {big:,} env steps; "
          f"median of {args.repeats}")
    print(_common.markdown_table(
        ["system", "env steps/s, steady", "runs", "fixed cost (s)",
         f"whole process at {big:,}", "against JaxMARL"], table))
    print(f"\n{_common.machine_line()}\n{_common.command_line()}")


if __name__ == "__main__":
    main()

"""Env steps per second of a whole training run, tf_maddpg against the PyTorch reference and the floor.

Every trainer runs ``MADDPGConfig()``'s schedule (the teaching reference's:
an update of every agent at batch 1024 every 100 env steps, after 4,000
transitions) on ``simple_adversary_v3``: acting, stepping, storing and
updating. Its rate is measured in steady state: from the evaluation row
after ``--warmup-episodes`` (past the warm-up transitions and the first,
tracing, update) to the last one, from the ``env_steps`` and ``wall_s`` of
``history`` (evaluations are one greedy episode, so they cost nothing).

The variants, taking turns once per repeat:

- the floor: mpe2's ``parallel_env`` stepped with random actions through
  the PettingZoo API, no learning (what the environment costs by itself);
- tf_maddpg's environment path: ``make_env`` (``DirectParallelEnv``, the
  same numbers without PettingZoo's wrapper layers) and ``EnvAdapter``'s
  packed step, random actions, no learning;
- ``tf_maddpg.train`` with one environment (the default), with one
  environment and ``async_update`` (the update in a background thread, the
  policy one update behind), with ``--num-envs`` stepped in this process,
  with ``--num-envs`` in ``--workers`` worker processes, and the same with
  ``async_update``;
- ``tf_maddpg.reference.train_reference``, our PyTorch reference, with one
  environment (torch on ``--torch-threads`` threads).

The ``tf_maddpg train`` variants step mpe2 itself (``env_backend="mpe2"``)
unless they say "batched" (tf_maddpg's NumPy mpe2, the default backend).
With ``--baseline REF`` the one-environment run is also measured at git
commit REF (checked out in a temporary worktree) and, beside it, in this
tree, both in fresh subprocesses, so that a change's cost shows as a ratio
measured in one run.

Run from the repository root:

    python benchmarks/throughput.py --repeats 3
    python benchmarks/throughput.py --repeats 5 --baseline 70258c6
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np
import torch

from _common import REPO_ROOT, command_line, machine_line, markdown_table, summary

import tf_maddpg
from tf_maddpg.reference import train_reference


def floor_parallel_env(scenario: str, steps: int) -> float:
    """Env steps per second of mpe2's ``parallel_env`` with random actions."""
    env = importlib.import_module(f"mpe2.{scenario}").parallel_env(max_cycles=25)
    rng = np.random.default_rng(0)
    sizes = {a: env.action_space(a).n for a in env.possible_agents}
    done, episode, start = 0, 0, time.perf_counter()
    while done < steps:
        env.reset(seed=episode)
        episode += 1
        while env.agents and done < steps:
            env.step({a: int(rng.integers(sizes[a])) for a in env.agents})
            done += 1
    rate = done / (time.perf_counter() - start)
    env.close()
    return rate


def tf_maddpg_env_path(scenario: str, steps: int) -> float:
    """Env steps per second of ``make_env``'s ``step_packed`` with random one-hot actions."""
    env = tf_maddpg.make_env(scenario)
    rng = np.random.default_rng(0)
    eye = np.eye(max(s.action_dim for s in env.specs), dtype=np.float32)
    cols = [np.arange(sl.start, sl.stop) for sl in env.action_slices]
    actions = np.zeros(env.action_width, np.float32)
    done, episode, start = 0, 0, time.perf_counter()
    while done < steps:
        env.reset_packed(seed=episode)
        episode += 1
        while not env.done and done < steps:
            for c in cols:
                actions[c] = eye[rng.integers(c.size), :c.size]
            env.step_packed(actions)
            done += 1
    rate = done / (time.perf_counter() - start)
    env.close()
    return rate


def steady_rate(history: list[dict], warmup_episodes: int) -> float:
    """Env steps per second between the first evaluation at or after the warm-up and the last."""
    first = next(row for row in history if row["episode"] >= warmup_episodes)
    last = history[-1]
    return (last["env_steps"] - first["env_steps"]) / (last["wall_s"] - first["wall_s"])


IN_SUBPROCESS = """
import sys
sys.path.insert(0, {root!r})
import tensorflow as tf
from tf_maddpg import MADDPGConfig, train
config = MADDPGConfig(num_episodes={episodes}, eval_interval=100, eval_episodes=1, **{extra!r})
history = train(config, {scenario!r}, verbose=False).history
first = next(row for row in history if row["episode"] >= {warmup})
print((history[-1]["env_steps"] - first["env_steps"]) / (history[-1]["wall_s"] - first["wall_s"]))
"""


def subprocess_rate(root: str, scenario: str, episodes: int, warmup: int, extra: dict) -> float:
    """The steady rate of a one-environment training run of the tf_maddpg found at ``root``."""
    code = IN_SUBPROCESS.format(root=root, episodes=episodes, extra=extra, scenario=scenario,
                                warmup=warmup)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    return float(done.stdout.strip().splitlines()[-1])


def worktree(ref: str) -> str:
    """A temporary git worktree of ``ref``; returns its path."""
    path = os.path.join(tempfile.mkdtemp(prefix="tf_maddpg-baseline-"), "tree")
    subprocess.run(["git", "-C", REPO_ROOT, "worktree", "add", "--detach", path, ref],
                   check=True, capture_output=True)
    return path


@dataclasses.dataclass
class Variant:
    """A name, a call returning env steps per second, and the rates measured."""

    name: str
    call: Callable[[], float]
    rates: list = dataclasses.field(default_factory=list)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="simple_adversary_v3")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=1200,
                        help="training episodes per run, warm-up included")
    parser.add_argument("--warmup-episodes", type=int, default=200,
                        help="episodes left out of the rate (the first update is at 160)")
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch threads of the PyTorch reference (1 is its fastest here)")
    parser.add_argument("--baseline", metavar="REF",
                        help="also time the one-environment run at this git commit")
    args = parser.parse_args()

    base = tf_maddpg.MADDPGConfig(num_episodes=args.episodes, eval_interval=100,
                                  eval_episodes=1)
    measured_steps = (args.episodes - args.warmup_episodes) * base.episode_length

    def trainer(**changes):
        config = base.replace(**{"env_backend": "mpe2", **changes})
        return lambda: steady_rate(
            tf_maddpg.train(config, args.scenario, verbose=False).history, args.warmup_episodes)

    variants = [
        Variant("mpe2 parallel_env, random actions (the floor)",
                lambda: floor_parallel_env(args.scenario, measured_steps)),
        Variant("tf_maddpg env path (DirectParallelEnv), random actions",
                lambda: tf_maddpg_env_path(args.scenario, measured_steps)),
        Variant("tf_maddpg train, 1 env", trainer()),
        Variant("tf_maddpg train, 1 env, batched backend", trainer(env_backend="batched")),
        Variant("tf_maddpg train, 1 env, async_update", trainer(async_update=True)),
        Variant(f"tf_maddpg train, {args.num_envs} envs in-process",
                trainer(num_envs=args.num_envs)),
        Variant(f"tf_maddpg train, {args.num_envs} envs in {args.workers} workers",
                trainer(num_envs=args.num_envs, env_workers=args.workers)),
        Variant(f"tf_maddpg train, {args.num_envs} envs in {args.workers} workers, async_update",
                trainer(num_envs=args.num_envs, env_workers=args.workers, async_update=True)),
        Variant(f"PyTorch reference train_reference, 1 env ({args.torch_threads} thread)",
                lambda: steady_rate(train_reference(base, args.scenario, verbose=False,
                                                    torch_threads=args.torch_threads).history,
                                    args.warmup_episodes)),
    ]
    reference_variant = variants[-1]
    if args.baseline:
        old_tree = worktree(args.baseline)
        variants += [
            Variant(f"tf_maddpg train, 1 env, at {args.baseline} (subprocess)",
                    lambda: subprocess_rate(old_tree, args.scenario, args.episodes,
                                            args.warmup_episodes, {})),
            Variant("tf_maddpg train, 1 env, mpe2 backend, this tree (subprocess)",
                    lambda: subprocess_rate(REPO_ROOT, args.scenario, args.episodes,
                                            args.warmup_episodes, {"env_backend": "mpe2"})),
        ]
    for repeat in range(args.repeats):
        for v in variants:
            v.rates.append(v.call())
            print(f"repeat {repeat + 1}/{args.repeats}: {v.name}: {v.rates[-1]:.0f} steps/s",
                  flush=True)

    floor = summary(variants[0].rates)[0]
    one_env = summary(variants[2].rates)[0]
    reference = summary(reference_variant.rates)[0]
    rows = []
    for v in variants:
        median, low, high = summary(v.rates)
        rows.append([v.name, f"{median:.0f}", f"{low:.0f}-{high:.0f}", f"{median / floor:.2f}",
                     f"{median / one_env:.2f}", f"{median / reference:.2f}"])
    print("\n" + machine_line())
    print(f"\n{args.scenario}, MADDPGConfig() schedule, {args.repeats} repeats; rates over "
          f"episodes {args.warmup_episodes}-{args.episodes} ({measured_steps} env steps)\n")
    print(markdown_table(["variant", "median env steps/s", "min-max", "ratio to the floor",
                          "ratio to tf_maddpg 1 env", "ratio to PyTorch reference"], rows))
    if args.baseline:
        old, new = summary(variants[-2].rates)[0], summary(variants[-1].rates)[0]
        print(f"\nThis tree against {args.baseline}, one environment, mpe2 backend, both in "
              f"subprocesses: {new:.0f} / {old:.0f} = {new / old:.3f}")
        subprocess.run(["git", "-C", REPO_ROOT, "worktree", "remove", "--force", old_tree],
                       capture_output=True)
    print(f"\n```\n{command_line()}\n```")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()

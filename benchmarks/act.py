"""Microseconds per env step to choose every agent's action, for 1, 8 and 64 environments.

The training loop asks for actions at every env step, so acting must cost
less than the environment. Times exploring actions (the training loop's
call) on the agents of an mpe2 scenario (``simple_adversary_v3`` by default),
with the observations of all environments batched into one call:

- tf_maddpg's default: the actors as one block-diagonal chain of NumPy
  products (``MultiAgentPolicy(backend="numpy")``);
- tf_maddpg with every actor in one compiled call (``backend="graph"``);
- the PyTorch reference's ``MADDPG.act`` (per agent, torch on one thread).

The three use the same weights and are checked to give the same greedy
actions. A repeat times a block of ``--calls`` consecutive calls of one
variant; the variants take turns, one block each per round, so machine noise
hits all alike. A figure is the time of one call (the block's mean) divided
by the number of environments.

Run from the repository root:

    python benchmarks/act.py --repeats 7 --calls 200
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from _common import command_line, machine_line, markdown_table, summary, time_repeats

import tf_maddpg
from tf_maddpg.reference import MADDPG, copy_tf_to_torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="simple_adversary_v3")
    parser.add_argument("--envs", type=int, nargs="+", default=[1, 8, 64],
                        help="batch sizes: environments acted for in one call")
    parser.add_argument("--repeats", type=int, default=7, help="timed blocks per variant")
    parser.add_argument("--calls", type=int, default=200, help="calls per timed block")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls first")
    args = parser.parse_args()
    torch.set_num_threads(1)

    env = tf_maddpg.make_env(args.scenario)
    specs = env.specs
    config = tf_maddpg.MADDPGConfig()
    learner = tf_maddpg.MADDPGLearner(specs, config)
    numpy_policy = tf_maddpg.MultiAgentPolicy(specs, learner.actors, backend="numpy")
    graph_policy = tf_maddpg.MultiAgentPolicy(specs, learner.actors, backend="graph")
    reference = MADDPG(specs, config)
    copy_tf_to_torch(learner, reference)

    rng = np.random.default_rng(0)
    obs = {n: np.stack([env.reset_packed(seed=int(s)) for s in rng.integers(1 << 30, size=n)])
           for n in args.envs}
    split = np.cumsum([s.obs_dim for s in specs])[:-1]
    per_agent = {n: np.split(o, split, axis=-1) for n, o in obs.items()}
    # Same weights, same greedy actions: the three compute one function.
    for n in args.envs:
        greedy = numpy_policy.act_packed(obs[n])
        np.testing.assert_array_equal(greedy, graph_policy.act_packed(obs[n]))
        np.testing.assert_array_equal(
            greedy, np.concatenate(reference.act(per_agent[n]), axis=-1))

    variants = {
        "tf_maddpg, NumPy block chain (default)":
            lambda n: numpy_policy.act_packed(obs[n], explore=True),
        "tf_maddpg, one tf.function":
            lambda n: graph_policy.act_packed(obs[n], explore=True),
        "PyTorch reference MADDPG.act (1 thread)":
            lambda n: reference.act(per_agent[n], explore=True),
    }
    times = {(name, n): [] for name in variants for n in args.envs}
    for n in args.envs:
        for call in variants.values():
            time_repeats(lambda: call(n), 1, warmup=args.warmup)
    for _ in range(args.repeats):
        for n in args.envs:
            for name, call in variants.items():
                times[name, n] += time_repeats(lambda: [call(n) for _ in range(args.calls)], 1)

    rows = []
    for n in args.envs:
        base = summary(times["PyTorch reference MADDPG.act (1 thread)", n])[0] / args.calls
        for name in variants:
            median, low, high = (t * 1e6 / args.calls / n for t in summary(times[name, n]))
            rows.append([str(n), name, f"{median:.1f}", f"{low:.1f}-{high:.1f}",
                         f"{base * 1e6 / n / median:.2f}"])
    print(machine_line())
    print(f"\n{args.scenario} ({len(specs)} agents), exploring actions; {args.repeats} "
          f"blocks of {args.calls} calls per variant and batch, after {args.warmup} "
          "warm-up calls\n")
    print(markdown_table(["envs", "variant", "median us / env step", "min-max",
                          "speed-up over PyTorch"], rows))
    print(f"\n```\n{command_line()}\n```")


if __name__ == "__main__":
    main()

"""Milliseconds per full MADDPG update (every agent's critic, actor and targets), TF vs PyTorch.

Times one update of all agents at batch 1024 on the agents of an mpe2
scenario (``simple_adversary_v3`` by default) with ``MADDPGConfig()``:

- TF eager: ``MADDPGLearner._update_step`` called directly, op by op;
- TF in one ``tf.function`` (``update_with_noise``), without and with XLA;
- the PyTorch reference (``tf_maddpg.reference.MADDPG.update``) on one thread.

Every variant gets the same random batch and the same update noise on every
call. The first call (tracing / compiling) is timed on its own; then the
variants take turns, one call each per round, so machine noise hits all alike.

Run from the repository root:

    python benchmarks/update.py --repeats 20
    python benchmarks/update.py --batch-size 256 --threads 1
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable

import numpy as np
import torch

# _common first: it puts the repository root on sys.path for tf_maddpg.
from _common import command_line, machine_line, markdown_table, pin_threads, summary, time_repeats

import tf_maddpg
from tf_maddpg.reference import MADDPG


def random_batch(specs, batch_size: int, seed: int = 0):
    """A ``Batch`` of ``batch_size`` random transitions sampled from a ``ReplayBuffer``."""
    rng = np.random.default_rng(seed)
    buffer = tf_maddpg.ReplayBuffer(specs, capacity=batch_size)

    def action(spec):
        if spec.discrete:
            return np.eye(spec.action_dim, dtype=np.float32)[rng.integers(spec.action_dim)]
        return rng.uniform(spec.low, spec.high).astype(np.float32)

    for _ in range(batch_size):
        buffer.add(obs=[rng.normal(size=s.obs_dim) for s in specs],
                   actions=[action(s) for s in specs],
                   rewards=rng.normal(size=len(specs)),
                   next_obs=[rng.normal(size=s.obs_dim) for s in specs],
                   terminated=rng.random(len(specs)) < 0.04,
                   alive=[True] * len(specs))
    return buffer.sample(batch_size, np.random.default_rng(seed))


@dataclasses.dataclass
class Variant:
    """One way of running the update: a name, a no-argument call, and its timings (s)."""

    name: str
    call: Callable[[], object]
    repeats: int
    first: float = 0.0
    times: list = dataclasses.field(default_factory=list)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="simple_adversary_v3")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=20,
                        help="timed calls of each compiled variant and of PyTorch")
    parser.add_argument("--eager-repeats", type=int, default=5, help="timed calls of TF eager")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls after the first")
    parser.add_argument("--threads", type=int, default=None,
                        help="TF intra/inter-op threads (default: TF's own choice)")
    args = parser.parse_args()

    if args.threads:
        pin_threads(args.threads)  # before TF runs any op
    torch.set_num_threads(1)  # torch's small matmuls are far slower on 2 threads here

    env = tf_maddpg.make_env(args.scenario)
    specs = env.specs
    env.close()
    config = tf_maddpg.MADDPGConfig()
    eager = tf_maddpg.MADDPGLearner(specs, config)
    compiled = tf_maddpg.MADDPGLearner(specs, config)
    xla = tf_maddpg.MADDPGLearner(specs, dataclasses.replace(config, jit_compile=True))
    reference = MADDPG(specs, config)
    batch = random_batch(specs, args.batch_size)
    noise = eager.numpy_noise(args.batch_size, np.random.default_rng(1))
    variants = [
        Variant("TF eager (per-agent ops, no tf.function)",
                lambda: eager._update_step(batch, noise), args.eager_repeats),
        Variant("TF one tf.function", lambda: compiled.update_with_noise(batch, noise),
                args.repeats),
        Variant("TF one tf.function + XLA (jit_compile=True)",
                lambda: xla.update_with_noise(batch, noise), args.repeats),
        Variant("PyTorch reference (1 thread)", lambda: reference.update(batch, noise),
                args.repeats),
    ]

    for v in variants:
        v.first = time_repeats(v.call, 1)[0]
    for _ in range(args.warmup):
        for v in variants:
            v.call()
    for r in range(max(v.repeats for v in variants)):
        for v in variants:
            if r < v.repeats:
                v.times += time_repeats(v.call, 1)

    eager_ms = summary(variants[0].times)[0] * 1e3
    torch_ms = summary(variants[-1].times)[0] * 1e3
    rows = []
    for v in variants:
        median, low, high = (t * 1e3 for t in summary(v.times))
        rows.append([v.name, f"{median:.1f}", f"{low:.1f}-{high:.1f}", f"{v.first:.2f}",
                     f"{eager_ms / median:.2f}", f"{torch_ms / median:.2f}"])
    print(machine_line())
    print(f"\n{args.scenario} ({len(specs)} agents), batch {args.batch_size}, "
          f"TF threads: {args.threads or 'default'}, torch threads: 1, "
          f"{args.repeats} repeats ({args.eager_repeats} eager) after {args.warmup} warmup\n")
    print(markdown_table(["variant", "median ms", "min-max ms", "first call s",
                          "ratio to eager", "ratio to PyTorch"], rows))
    print(f"\n```\n{command_line()}\n```")


if __name__ == "__main__":
    main()

"""Where a simple_spread run's agents end: how many landmarks they cover.

    python examples/spread_coverage.py runs/family/simple_spread/happo/seed*

Plays each run's saved actors greedily (the argmax action) for --episodes
episodes of mpe2's simple_spread_v3 (with the run's episode length and
options) and, at each episode's last step, counts the landmarks that have an
agent nearest to them (3 of 3 when the agents spread out; 2 when two agents
sit on one landmark) and the mean distance from each landmark to its nearest
agent (what the reward charges). Prints a Markdown table, one row per run. A
run whose return plateaus far from the others' shows here whether its agents
share a landmark (a coordination optimum) or reach none (a policy that never
learned to move).
"""

import argparse
import os
import sys

import numpy as np
from mpe2 import simple_spread_v3

from tf_maddpg.runs.actors import load_actors
from tf_maddpg.runs.folder import ACTORS_DIR, read_run


def coverage(run_dir: str, episodes: int, first_seed: int):
    """Returns (counts of episodes covering 1..N landmarks, mean landmark distance)."""
    info = read_run(run_dir)
    if info.scenario != "simple_spread_v3":
        raise SystemExit(f"{run_dir} trained on {info.scenario}, not simple_spread_v3")
    if not all(spec.discrete for spec in info.specs):
        raise SystemExit(f"{run_dir} acts with Box actions: this script plays Discrete ones")
    actors = load_actors(info.specs, os.path.join(run_dir, ACTORS_DIR))
    envs = [simple_spread_v3.parallel_env(max_cycles=info.config.episode_length, **info.env_kwargs)
            for _ in range(episodes)]
    obs = [env.reset(seed=first_seed + k)[0] for k, env in enumerate(envs)]
    while envs[0].agents:  # simple_spread's episodes all end at the same step
        actions = [{} for _ in envs]
        for spec, actor in zip(info.specs, actors):  # one call per agent for all episodes
            batch = np.stack([o[spec.name] for o in obs]).astype(np.float32)
            chosen = np.asarray(actor(batch, training=False)).argmax(axis=-1)
            for k, action in enumerate(chosen):
                actions[k][spec.name] = int(action)
        obs = [env.step(a)[0] for env, a in zip(envs, actions)]
    counts, distances = np.zeros(len(info.specs), int), []
    for env in envs:
        world = env.unwrapped.world
        agents = np.array([a.state.p_pos for a in world.agents])
        landmarks = np.array([lm.state.p_pos for lm in world.landmarks])
        gaps = np.linalg.norm(agents[:, None] - landmarks[None], axis=-1)
        counts[len(set(gaps.argmin(axis=1))) - 1] += 1
        distances.append(gaps.min(axis=0).mean())
        env.close()
    return counts, float(np.mean(distances))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run folders of simple_spread_v3 with actors/")
    parser.add_argument("--episodes", type=int, default=100,
                        help="greedy episodes per run (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1000,
                        help="the first episode's seed; each run plays the same episodes "
                             "(default: %(default)s)")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes must be at least 1, got {args.episodes}")
    for run in args.runs:
        if not os.path.isdir(os.path.join(run, ACTORS_DIR)):
            parser.error(f"{run} holds no {ACTORS_DIR}/ folder: is it a finished run folder?")

    rows = [coverage(run, args.episodes, args.seed) for run in args.runs]
    n = len(rows[0][0])
    header = " | ".join(f"{k} of {n}" for k in range(n, 0, -1))
    print(f"| run | episodes whose agents cover {header} "
          "| mean distance landmark -> nearest agent |")
    print("|---|" + "---:|" * (n + 1))
    for run, (counts, distance) in zip(args.runs, rows):
        cells = " | ".join(str(c) for c in counts[::-1])
        print(f"| {run} | {cells} | {distance:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

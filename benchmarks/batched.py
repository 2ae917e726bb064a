"""The batched mpe2 backend: the environment alone, a rollout, and MADDPG training.

Three questions, each answered in one table, every variant measured in this
run (variants take turns once per repeat; medians and min-max):

1. The environment alone, random actions, no acting: env steps per second of
   the batched backend at ``--envs`` environments against the direct mpe2
   path (``DirectParallelEnv`` through ``EnvAdapter.step_packed``, one
   environment at a time), on simple_spread_v3 and simple_adversary_v3.
2. A rollout: acting for every agent (``MultiAgentPolicy.act_packed`` with
   exploration, untrained 64x64 actors) plus stepping, no learning, at
   ``--envs`` environments.
3. MADDPG training with the reference schedule (an update of every agent at
   batch 1024 every 100 env steps, after 4,000 transitions), in steady state:
   the batched backend with ``--envs`` environments against the best
   synchronous mpe2 figure (16 environments in 2 worker processes), and the
   share of the time that the updates take (``TrainingResult.update_s``).
   With the environment nearly free, training is bound by the update: the
   bound is ``update_interval / (seconds per update)`` env steps per second.

Run from the repository root:

    python benchmarks/batched.py --repeats 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import command_line, machine_line, markdown_table, summary

import tf_maddpg
from tf_maddpg.envs.batched_mpe.vec import BatchedVecEnv


def random_actions(env, rng, rows: int) -> np.ndarray:
    """Packed one-hot random actions [rows, action_width]."""
    actions = np.zeros((rows, env.action_width), np.float32)
    for spec, cols in zip(env.specs, env.action_slices):
        actions[np.arange(rows), cols.start + rng.integers(spec.action_dim, size=rows)] = 1.0
    return actions


def direct_env_rate(scenario: str, steps: int) -> float:
    """Env steps per second of the direct mpe2 path, one environment, random actions."""
    env = tf_maddpg.make_env(scenario)
    rng = np.random.default_rng(0)
    actions = random_actions(env, rng, 64)
    done, episode, start = 0, 0, time.perf_counter()
    while done < steps:
        env.reset_packed(seed=episode)
        episode += 1
        while not env.done and done < steps:
            env.step_packed(actions[done % 64])
            done += 1
    rate = done / (time.perf_counter() - start)
    env.close()
    return rate


def batched_rate(scenario: str, envs: int, steps: int, policy=None) -> float:
    """Env steps per second of the batched backend (with acting when ``policy`` is given)."""
    env = BatchedVecEnv(scenario, envs)
    rng = np.random.default_rng(0)
    actions = random_actions(env, rng, envs)
    done, episode, start = 0, 0, time.perf_counter()
    while done < steps:
        obs, alive = env.reset(list(range(episode * envs, (episode + 1) * envs)))
        episode += 1
        for _ in range(25):
            if policy is not None:
                actions = policy.act_packed(obs, explore=True)
            step = env.step(actions)
            obs = step.obs
            done += envs
    return done / (time.perf_counter() - start)


def untrained_policy(scenario: str):
    specs = BatchedVecEnv(scenario, 1).specs
    actors = [tf_maddpg.make_actor(s) for s in specs]
    return tf_maddpg.MultiAgentPolicy(specs, actors, rng=0)


def training(scenario: str, episodes: int, warmup: int, **changes):
    """(steady env steps/s, update share, seconds per update) of one training run."""
    config = tf_maddpg.MADDPGConfig(num_episodes=episodes, **changes)
    result = tf_maddpg.train(config, scenario, verbose=False)
    history = result.history
    first = next(row for row in history if row["episode"] >= warmup)
    last = history[-1]
    rate = (last["env_steps"] - first["env_steps"]) / (last["wall_s"] - first["wall_s"])
    share = (result.update_s - result.first_update_s) / max(
        result.wall_s - result.eval_s - result.first_update_s, 1e-9)
    per_update = (result.update_s - result.first_update_s) / max(result.num_updates - 1, 1)
    return rate, share, per_update


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--envs", type=int, default=1024)
    parser.add_argument("--env-steps", type=int, default=200_000,
                        help="env steps per measurement of questions 1 and 2")
    parser.add_argument("--direct-steps", type=int, default=20_000,
                        help="env steps per measurement of the direct mpe2 path")
    parser.add_argument("--train-episodes", type=int, default=16_384,
                        help="episodes of a batched training run (question 3)")
    parser.add_argument("--train-warmup", type=int, default=4_096)
    parser.add_argument("--mpe2-episodes", type=int, default=1_200)
    parser.add_argument("--mpe2-warmup", type=int, default=200)
    parser.add_argument("--scenario", default="simple_adversary_v3",
                        help="the scenario of question 3")
    args = parser.parse_args()

    env_rows, rollout_rows, train_rows = [], [], []
    rates = {}

    def measure(key, call):
        rates.setdefault(key, []).append(call())

    policies = {s: untrained_policy(s) for s in ("simple_spread_v3", "simple_adversary_v3")}
    batched_train = dict(num_envs=args.envs, eval_interval=args.envs,
                         checkpoint_interval=args.envs, eval_episodes=1)
    for repeat in range(args.repeats):
        for scenario in ("simple_spread_v3", "simple_adversary_v3"):
            measure(("direct", scenario), lambda: direct_env_rate(scenario, args.direct_steps))
            measure(("batched", scenario),
                    lambda: batched_rate(scenario, args.envs, args.env_steps))
            measure(("rollout", scenario),
                    lambda: batched_rate(scenario, args.envs, args.env_steps, policies[scenario]))
        measure("train_mpe2", lambda: training(
            args.scenario, args.mpe2_episodes, args.mpe2_warmup, num_envs=16, env_workers=2,
            env_backend="mpe2", eval_interval=100, eval_episodes=1))
        measure("train_batched", lambda: training(
            args.scenario, args.train_episodes, args.train_warmup, **batched_train))
        print(f"repeat {repeat + 1}/{args.repeats} done", flush=True)

    for scenario in ("simple_spread_v3", "simple_adversary_v3"):
        direct = summary(rates[("direct", scenario)])
        batched = summary(rates[("batched", scenario)])
        env_rows.append([scenario, f"{direct[0]:,.0f}", f"{batched[0]:,.0f}",
                         f"{batched[1]:,.0f}-{batched[2]:,.0f}", f"{batched[0] / direct[0]:.0f}",
                         f"{1e6 / batched[0]:.2f}"])
        rollout = summary(rates[("rollout", scenario)])
        rollout_rows.append([scenario, f"{rollout[0]:,.0f}", f"{rollout[1]:,.0f}-{rollout[2]:,.0f}",
                             f"{1e6 / rollout[0]:.2f}"])
    for key, name in (("train_mpe2", "mpe2 backend, 16 envs in 2 worker processes"),
                      ("train_batched", f"batched backend, {args.envs} envs")):
        values = rates[key]
        rate = summary([v[0] for v in values])
        share = summary([v[1] for v in values])[0]
        per_update = summary([v[2] for v in values])[0]
        bound = 100 / per_update
        train_rows.append([name, f"{rate[0]:,.0f}", f"{rate[1]:,.0f}-{rate[2]:,.0f}",
                           f"{rate[0] / summary([v[0] for v in rates['train_mpe2']])[0]:.2f}",
                           f"{100 * share:.0f}%", f"{1000 * per_update:.1f}", f"{bound:,.0f}",
                           f"{rate[0] / bound:.2f}"])

    print("\n" + machine_line() + f"; {args.repeats} repeats, medians\n")
    print(f"1. The environment alone, random actions ({args.envs} batched environments):\n")
    print(markdown_table(["scenario", "direct mpe2 path, env steps/s", "batched, env steps/s",
                          "batched min-max", "ratio", "us per env step (batched)"], env_rows))
    print(f"\n2. A rollout: acting (exploring) for every agent and stepping, {args.envs} "
          "environments:\n")
    print(markdown_table(["scenario", "env steps/s", "min-max", "us per env step"],
                         rollout_rows))
    print(f"\n3. MADDPG training on {args.scenario}, the reference schedule, steady state:\n")
    print(markdown_table(["variant", "env steps/s", "min-max", "ratio to mpe2 2 workers",
                          "update share", "ms per update", "update bound, env steps/s",
                          "share of the bound"], train_rows))
    print(f"\n```\n{command_line()}\n```")


if __name__ == "__main__":
    main()

"""The reference's own training loop, with tf_maddpg's environments and services.

The reference trains one environment, one step at a time, as the book does.
It uses tf_maddpg's environments, ``ReplayBuffer``, seeds (episode start
states, replay sampling and evaluation sets from ``tf_maddpg.seeding``),
update schedule and evaluation, so that a tf_maddpg run and a reference run
differ only in the framework (and its random numbers).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time

import numpy as np
import torch

from tf_maddpg.algorithms.maddpg.config import MADDPGConfig
from tf_maddpg.envs.adapter import EnvAdapter
from tf_maddpg.envs.sources import EnvSource, build_adapter
from tf_maddpg.envs.vec_env import VecEnv
from tf_maddpg.reference.maddpg import MADDPG
from tf_maddpg.runs.metrics import MetricsCSV, metric_columns
from tf_maddpg.seeding import RunSeeds
from tf_maddpg.storage.replay import ReplayBuffer
from tf_maddpg.training import evaluation
from tf_maddpg.training.updater import check_finite


@dataclasses.dataclass
class ReferenceResult:
    """What ``train_reference`` returns.

    Attributes:
      maddpg: the trained reference.
      history: one dict per evaluation (the rows of metrics.csv): episode,
        env_steps, wall_s, return/<agent>, and each loss's mean over the
        updates since the previous evaluation.
      env_steps: training env steps taken.
      wall_s: seconds from start to end, evaluation included.
      num_updates: updates done (each trains every agent once).
      update_s: seconds spent inside ``MADDPG.update``, all updates together.
      eval_s: seconds spent evaluating.
      first_update_s: the first update's part of ``update_s``.
    """

    maddpg: MADDPG
    history: list[dict[str, float]]
    env_steps: int
    wall_s: float
    num_updates: int
    update_s: float
    eval_s: float = 0.0
    first_update_s: float = 0.0

    @property
    def env_steps_per_s(self) -> float:
        """Training env steps per second, evaluation time left out."""
        return self.env_steps / max(self.wall_s - self.eval_s, 1e-9)


def evaluate(maddpg: MADDPG, env: EnvAdapter, seeds, max_steps: int) -> np.ndarray:
    """The reference's evaluation: mean per-agent return of greedy episodes, one per seed.

    ``tf_maddpg.training.evaluate`` itself, so that the two frameworks'
    policies are scored on the same start states.
    """
    return evaluation.evaluate(maddpg, VecEnv.of(env), seeds, max_steps)


def train_reference(config: MADDPGConfig,
                    scenario: EnvSource = "simple_adversary_v3", *,
                    env_kwargs: dict | None = None, out_dir: str | None = None,
                    verbose: bool = True, torch_threads: int | None = None) -> ReferenceResult:
    """Trains the PyTorch reference with tf_maddpg's training loop.

    Args:
      config: hyperparameters and schedule, as for ``tf_maddpg.train``.
      scenario: an mpe2 scenario name or a zero-argument function that
        returns a PettingZoo env (or an EnvAdapter).
      env_kwargs: scenario options for a named scenario.
      out_dir: if given, receives ``config.json`` and ``metrics.csv`` (the
        columns of a tf_maddpg run).
      verbose: print the evaluation table.
      torch_threads: if given, ``torch.set_num_threads(torch_threads)``
        (process-wide); otherwise PyTorch's thread count is left alone.

    Returns:
      A ``ReferenceResult``.

    Raises:
      FloatingPointError: a loss became NaN or infinite (the message names it).
    """
    if torch_threads is not None:
        torch.set_num_threads(torch_threads)
    seeds = RunSeeds(config.seed)
    rng = seeds.generator("replay")
    env = build_adapter(scenario, config.episode_length, env_kwargs)
    eval_env = build_adapter(scenario, config.episode_length, env_kwargs)
    names = env.agents
    maddpg = MADDPG(env.specs, config)
    buffer = ReplayBuffer(env.specs, config.buffer_size)
    csv_log = _start_outputs(out_dir, config, names)

    start = time.perf_counter()
    env_steps, num_updates, update_s, eval_s, history = 0, 0, 0.0, 0.0, []
    first_update_s = 0.0
    loss_log: list[dict[str, float]] = []  # the updates since the last evaluation
    try:
        for episode in range(1, config.num_episodes + 1):
            obs = env.reset(seed=seeds.episode_seed(episode))
            for _ in range(config.episode_length):
                alive = env.alive
                actions = maddpg.act(obs, explore=True)
                step = env.step(actions)
                buffer.add(obs, actions, step.rewards, step.obs, step.terminated, alive)
                obs = step.obs
                env_steps += 1
                if len(buffer) >= config.minimal_size and env_steps % config.update_interval == 0:
                    batch = buffer.sample(config.batch_size, rng)
                    update_start = time.perf_counter()
                    losses = maddpg.update(batch)
                    elapsed = time.perf_counter() - update_start
                    update_s += elapsed
                    if num_updates == 0:
                        first_update_s = elapsed
                    num_updates += 1
                    check_finite(losses, env_steps)
                    loss_log.append(losses)
                if env.done:
                    break
            if episode % config.eval_interval == 0:
                row = {"episode": episode, "env_steps": env_steps,
                       "wall_s": round(time.perf_counter() - start, 2)}
                eval_start = time.perf_counter()
                returns = evaluate(maddpg, eval_env, seeds.evaluation_seeds(config.eval_episodes),
                                   config.episode_length)
                eval_s += time.perf_counter() - eval_start
                row.update({f"return/{a}": float(r) for a, r in zip(names, returns)})
                row.update(_mean_losses(loss_log, names))
                loss_log = []
                history.append(row)
                if csv_log:
                    csv_log.write(row)
                if verbose:
                    _print_row(row, names, header=len(history) == 1)
    finally:
        env.close()
        eval_env.close()
    return ReferenceResult(maddpg, history, env_steps, time.perf_counter() - start,
                           num_updates, update_s, eval_s, first_update_s)


def _start_outputs(out_dir: str | None, config: MADDPGConfig,
                   names: list[str]) -> MetricsCSV | None:
    if not out_dir:
        return None
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config.to_dict(), f, indent=2)
    return MetricsCSV(os.path.join(out_dir, "metrics.csv"), metric_columns(names))


def _mean_losses(loss_log: list[dict[str, float]], names: list[str]) -> dict[str, float]:
    """Each loss's mean over the logged updates (nan before the first), as train logs it."""
    keys = [f"loss/{kind}/{a}" for kind in ("critic", "actor") for a in names]
    if not loss_log:
        return dict.fromkeys(keys, math.nan)
    return {k: float(np.mean([losses[k] for losses in loss_log])) for k in keys}


def _print_row(row: dict[str, float], names: list[str], header: bool) -> None:
    if header:
        print(f"{'episode':>8} {'env_steps':>10} {'wall_s':>8} "
              + " ".join(f"{n:>12}" for n in names))
    print(f"{row['episode']:>8} {row['env_steps']:>10} {row['wall_s']:>8.1f} "
          + " ".join(f"{row[f'return/{n}']:>12.2f}" for n in names), flush=True)

"""The training loop and evaluation: the one place that knows every piece.

Data flows one way: environment -> adapter -> policy (act) -> buffer ->
learner -> the policy's actors.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from typing import Callable, Dict, List, Optional, Union

import keras
import numpy as np
from tqdm.auto import tqdm

from tf_maddpg.buffer import ReplayBuffer
from tf_maddpg.config import MADDPGConfig
from tf_maddpg.envs import EnvAdapter, make_env
from tf_maddpg.learner import MADDPGLearner
from tf_maddpg.metrics import MetricsCSV, metric_columns
from tf_maddpg.plotting import plot_returns
from tf_maddpg.policy import MultiAgentPolicy, save_actors

EVAL_SEED_OFFSET = 1_000_000
"""Evaluation episode k uses seed ``config.seed + EVAL_SEED_OFFSET + k``: the
same start states at every evaluation, so the curve shows the policy change,
not the luck of the draw."""

EnvSource = Union[str, Callable[[], object]]


@dataclasses.dataclass
class TrainingResult:
    """What ``train`` returns.

    Attributes:
      learner: the trained networks (``learner.actors`` are the policies).
      policy: acts with ``learner.actors``.
      history: one dict per evaluation (the rows of metrics.csv).
      env_steps: training env steps taken.
      wall_s: seconds from start to end, evaluation included.
    """

    learner: MADDPGLearner
    policy: MultiAgentPolicy
    history: List[Dict[str, float]]
    env_steps: int
    wall_s: float


def build_env(source: EnvSource, config: MADDPGConfig, env_kwargs: Optional[dict] = None) -> EnvAdapter:
    """An ``EnvAdapter`` from an mpe2 scenario name or a factory of PettingZoo envs."""
    if isinstance(source, str):
        return make_env(source, max_cycles=config.episode_length, **(env_kwargs or {}))
    env = source()
    return env if isinstance(env, EnvAdapter) else EnvAdapter(env)


def run_episode(policy: MultiAgentPolicy, env: EnvAdapter, max_steps: int,
                seed: Optional[int] = None, explore: bool = False) -> np.ndarray:
    """Plays one episode without learning; returns each agent's return."""
    obs = env.reset(seed=seed)
    returns = np.zeros(env.num_agents)
    for _ in range(max_steps):
        step = env.step(policy.act(obs, explore=explore))
        returns += step.rewards
        obs = step.obs
        if env.done:
            break
    return returns


def evaluate(policy: MultiAgentPolicy, env: EnvAdapter, episodes: int, max_steps: int,
             seed: int = 0) -> np.ndarray:
    """Mean per-agent return over ``episodes`` greedy episodes (seeds seed, seed+1, ...)."""
    total = sum(run_episode(policy, env, max_steps, seed=seed + k) for k in range(episodes))
    return total / episodes


def train(config: MADDPGConfig = MADDPGConfig(), scenario: EnvSource = "simple_adversary_v3",
          *, env_kwargs: Optional[dict] = None, out_dir: Optional[str] = None,
          verbose: bool = True) -> TrainingResult:
    """Trains MADDPG on a PettingZoo environment.

    Args:
      config: hyperparameters and schedule (``num_episodes``, ``seed``, ...).
      scenario: an mpe2 scenario name (``"simple_adversary_v3"``) or a
        zero-argument function that returns a PettingZoo env (or an EnvAdapter).
      env_kwargs: scenario options for a named scenario (``continuous_actions``...).
      out_dir: if given, receives ``config.json``, ``metrics.csv`` (one row per
        evaluation), ``returns.png`` (refreshed at every evaluation) and the
        trained actors under ``actors/``; actors are saved also when the run
        is interrupted with Ctrl-C.
      verbose: show a progress bar and print the evaluation table.

    Returns:
      A ``TrainingResult``.

    Raises:
      FloatingPointError: a loss became NaN or infinite (the message names it).
    """
    keras.utils.set_random_seed(config.seed)  # Python, NumPy and TensorFlow
    rng = np.random.default_rng(config.seed)
    env = build_env(scenario, config, env_kwargs)
    eval_env = build_env(scenario, config, env_kwargs)
    specs = env.specs
    names = env.agents
    learner = MADDPGLearner(specs, config)
    policy = MultiAgentPolicy(specs, learner.actors, config.gumbel_temperature, config.epsilon,
                              config.exploration_noise, seed=config.seed + 2)
    buffer = ReplayBuffer(specs, config.buffer_size)
    log = _RunLog(out_dir, names, config, verbose)

    start = time.perf_counter()
    env_steps, history = 0, []
    bar = tqdm(total=config.num_episodes, unit="ep", disable=None if verbose else True,
               dynamic_ncols=True)
    try:
        for episode in range(1, config.num_episodes + 1):
            obs = env.reset(seed=config.seed if episode == 1 else None)
            for _ in range(config.episode_length):
                alive = env.alive
                actions = policy.act(obs, explore=True)
                step = env.step(actions)
                buffer.add(obs, actions, step.rewards, step.obs, step.terminated, alive)
                obs = step.obs
                env_steps += 1
                if len(buffer) >= config.minimal_size and env_steps % config.update_interval == 0:
                    losses = learner.update(buffer.sample(config.batch_size, rng))
                    _check_finite(losses, env_steps)
                if env.done:
                    break
            bar.update(1)
            if episode % config.eval_interval == 0:
                returns = evaluate(policy, eval_env, config.eval_episodes, config.episode_length,
                                   seed=config.seed + EVAL_SEED_OFFSET)
                row = {"episode": episode, "env_steps": env_steps,
                       "wall_s": round(time.perf_counter() - start, 2)}
                row.update({f"return/{a}": float(r) for a, r in zip(names, returns)})
                history.append(row)
                log.evaluation(row, history, bar)
    except KeyboardInterrupt:
        log.finish(learner, specs, history, interrupted=True)
        raise
    finally:
        bar.close()
        env.close()
        eval_env.close()
    log.finish(learner, specs, history, interrupted=False)
    return TrainingResult(learner, policy, history, env_steps, time.perf_counter() - start)


def _check_finite(losses: Dict[str, float], env_steps: int) -> None:
    for key, value in losses.items():
        if not math.isfinite(value):
            _, kind, agent = key.split("/", 2)
            raise FloatingPointError(
                f"the {kind} loss of agent {agent!r} became {value} at env step {env_steps}. "
                "Lower the learning rates, set max_grad_norm, or check the rewards for "
                "NaN or huge values.")


class _RunLog:
    """Everything a run writes: the printed table, metrics.csv, returns.png, actors."""

    def __init__(self, out_dir, names, config, verbose):
        self.out_dir = out_dir
        self.names = names
        self.verbose = verbose
        self.csv = None
        self.header_printed = False
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
            with open(os.path.join(out_dir, "config.json"), "w") as f:
                json.dump(config.to_dict(), f, indent=2)
            self.csv = MetricsCSV(os.path.join(out_dir, "metrics.csv"), metric_columns(names))

    def evaluation(self, row, history, bar):
        if self.csv:
            self.csv.write(row)
            plot_returns(history, os.path.join(self.out_dir, "returns.png"))
        if self.verbose:
            if not self.header_printed:
                bar.write(f"{'episode':>8} {'env_steps':>10} {'wall_s':>8} "
                          + " ".join(f"{n:>12}" for n in self.names))
                self.header_printed = True
            bar.write(f"{row['episode']:>8} {row['env_steps']:>10} {row['wall_s']:>8.1f} "
                      + " ".join(f"{row[f'return/{n}']:>12.2f}" for n in self.names))

    def finish(self, learner, specs, history, interrupted):
        if not self.out_dir:
            return
        if history:
            plot_returns(history, os.path.join(self.out_dir, "returns.png"))
        save_actors(learner.actors, specs, os.path.join(self.out_dir, "actors"))
        if self.verbose:
            state = "stopped early" if interrupted else "done"
            print(f"{state}: metrics, plot and actors are in {self.out_dir}")

"""Playing episodes without learning: evaluation, ``tf-maddpg evaluate`` and GIFs.

The one episode loop outside training: every environment of a ``VecEnv``
plays one episode per seed, ``num_envs`` at a time, acting for all of them in
one call.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from tf_maddpg.envs.vec_env import VecEnv


def play_episodes(policy, env: VecEnv, seeds: Sequence[int], max_steps: int,
                  explore: bool = False,
                  observe: Optional[Callable[[], None]] = None) -> np.ndarray:
    """Plays one episode per seed and returns each episode's per-agent return.

    Args:
      policy: anything with ``act_packed(obs [B, obs_width], explore) -> [B, action_width]``;
        its ``reset(num_rows)``, if it has one, is called as every batch of
        episodes starts (a recurrent policy's hidden states back to zeros).
      env: the environments; episode k is reset with ``seeds[k]``.
      max_steps: the most steps of an episode.
      explore: act with exploration instead of greedily.
      observe: called after every reset and every step (to record frames).

    Returns:
      [len(seeds), num_agents] returns.
    """
    returns = np.zeros((len(seeds), env.num_agents))
    for first in range(0, len(seeds), env.num_envs):
        chunk = list(seeds[first: first + env.num_envs])
        obs, alive = env.reset(chunk)
        if hasattr(policy, "reset"):
            policy.reset(len(obs))
        if observe:
            observe()
        for _ in range(max_steps):
            if not alive.any():
                break
            step = env.step(policy.act_packed(obs, explore=explore))
            returns[first: first + len(chunk)] += step.rewards[: len(chunk)]
            obs, alive = step.obs, step.alive
            if observe:
                observe()
    return returns


def evaluate(policy, env: VecEnv, seeds: Sequence[int], max_steps: int) -> np.ndarray:
    """Mean per-agent return of greedy episodes, one per seed: [num_agents]."""
    return play_episodes(policy, env, seeds, max_steps).mean(axis=0)

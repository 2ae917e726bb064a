"""The batched mpe2 behind the training loop's packed interface (``VecEnv``'s).

``BatchedVecEnv`` speaks what the loops and evaluation speak: packed rows
(every agent's observation or action in its columns, in agent order) for all
environments at once, and the ``PackedStep`` of ``tf_maddpg.envs.adapter``.
One step of every environment is one vectorised NumPy step.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from tf_maddpg.envs.adapter import PackedStep
from tf_maddpg.envs.batched_mpe.registry import make_batched_env
from tf_maddpg.envs.specs import AgentSpec, column_slices


class BatchedVecEnv:
    """``num_envs`` environments of one mpe2 scenario, stepped as one batch.

    Args:
      scenario: the mpe2 module name, e.g. ``"simple_spread_v3"``.
      num_envs: the number of environments.
      max_cycles: steps per episode.
      env_kwargs: the scenario's options.

    Raises:
      ValueError: an unknown scenario or option (the message lists the valid ones).

    Attributes:
      specs, agents, obs_width, action_width, obs_slices, action_slices,
      num_agents, num_envs: as ``VecEnv``'s.
    """

    def __init__(self, scenario: str, num_envs: int, max_cycles: int = 25,
                 env_kwargs: Optional[dict] = None):
        self.env = make_batched_env(scenario, num_envs, max_cycles=max_cycles,
                                    **(env_kwargs or {}))
        env = self.env
        self.num_envs = int(num_envs)
        self.agents = tuple(env.agents)
        self.specs = tuple(
            AgentSpec(name, int(obs), int(act), bool(discrete),
                      None if discrete else tuple(float(x) for x in low),
                      None if discrete else tuple(float(x) for x in high))
            for name, obs, act, discrete, low, high in zip(
                env.agents, env.observation_sizes, env.action_sizes, env.discrete,
                env.action_low, env.action_high))
        self.num_agents = len(self.specs)
        self.obs_slices = column_slices([s.obs_dim for s in self.specs])
        self.action_slices = column_slices([s.action_dim for s in self.specs])
        self.obs_width = self.obs_slices[-1].stop
        self.action_width = self.action_slices[-1].stop
        self._active = np.zeros(self.num_envs, bool)  # [E]: in this round's episodes

    def reset(self, seeds: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
        """Starts an episode in the first ``len(seeds)`` environments, each with its seed.

        The others sit this episode out (their rows are zeros and not alive).

        Returns:
          obs [num_envs, obs_width] float32 and alive [num_envs, num_agents] bool.
        """
        count = len(seeds)
        if count > self.num_envs:
            raise ValueError(f"{count} seeds for {self.num_envs} environments")
        # Every environment restarts (the batch steps as one); those without a seed of
        # their own reuse the first one and are masked out.
        padded = [int(s) for s in seeds] + [int(seeds[0])] * (self.num_envs - count)
        obs = np.concatenate(self.env.reset(padded), axis=1)
        self._active[:] = False
        self._active[:count] = True
        alive = np.repeat(self._active[:, None], self.num_agents, axis=1)
        obs[~self._active] = 0.0
        return obs, alive

    def step(self, actions: np.ndarray) -> PackedStep:
        """Steps every environment with its row of packed ``actions`` [num_envs, action_width]
        (a Discrete agent's argmax is taken; Box values are clipped to the bounds)."""
        per_agent = [actions[:, cols].argmax(axis=1) if spec.discrete else actions[:, cols]
                     for spec, cols in zip(self.specs, self.action_slices)]
        was_active = self._active & self.env.alive
        obs, rewards, terminated, truncated = self.env.step(per_agent)
        obs = np.concatenate(obs, axis=1)
        rewards = np.stack(rewards, axis=1).astype(np.float32)
        terminated = np.stack(terminated, axis=1)
        truncated = np.stack(truncated, axis=1)
        if not was_active.all():  # rows not stepped this time: zeros, as VecEnv gives them
            for array in (obs, rewards, terminated, truncated):
                array[~was_active] = 0
        alive = np.repeat((self._active & self.env.alive)[:, None], self.num_agents, axis=1)
        return PackedStep(obs, rewards, terminated, truncated, alive)

    def close(self) -> None:
        """Nothing to release (kept for ``VecEnv``'s interface)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

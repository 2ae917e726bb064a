"""The on-policy loop's storage: one rollout of every environment, and GAE over it.

A rollout is one lockstep round: ``num_envs`` episodes stepped together for
up to ``steps`` steps. Step t of environment e is row (t, e) of every array;
an agent's entries count only where it was alive (acting) at that step.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

from tf_maddpg.envs.specs import AgentSpec


class Rollout:
    """Preallocated arrays of one rollout, filled a step at a time.

    Args:
      specs: one ``AgentSpec`` per agent.
      steps: the most steps of a rollout (the episode length).
      num_envs: environments stepped together.

    Attributes (each [steps, num_envs, ...], valid up to ``length`` steps):
      obs, next_obs: packed observations before and after the step.
      actions: packed actions as the policy sampled them (one-hot, or the
        unclipped Box sample).
      rewards, terminated, truncated, alive: [.., num_agents]; ``alive`` is
        who acted at the step.
      length: steps stored.
    """

    def __init__(self, specs: Sequence[AgentSpec], steps: int, num_envs: int):
        obs_width = sum(s.obs_dim for s in specs)
        action_width = sum(s.action_dim for s in specs)
        n = len(specs)
        self.names = [s.name for s in specs]
        self.obs = np.zeros((steps, num_envs, obs_width), np.float32)
        self.next_obs = np.zeros_like(self.obs)
        self.actions = np.zeros((steps, num_envs, action_width), np.float32)
        self.rewards = np.zeros((steps, num_envs, n), np.float32)
        self.terminated = np.zeros((steps, num_envs, n), bool)
        self.truncated = np.zeros((steps, num_envs, n), bool)
        self.alive = np.zeros((steps, num_envs, n), bool)
        self.length = 0

    def clear(self) -> None:
        """Empties the rollout (the arrays are reused)."""
        self.length = 0

    def add(self, *, obs, actions, next_obs, rewards, terminated, truncated, alive) -> None:
        """Stores one step of every environment ([num_envs, ...] each).

        Raises:
          ValueError: the rollout is full, or an alive agent's observation or
            reward is not finite (the message names the agent).
        """
        t = self.length
        if t == self.obs.shape[0]:
            raise ValueError(f"the rollout holds {t} steps already")
        fields = dict(obs=obs, actions=actions, next_obs=next_obs, rewards=rewards,
                      terminated=terminated, truncated=truncated, alive=alive)
        for name, value in fields.items():
            getattr(self, name)[t] = value
        rewards = self.rewards[t]
        if not np.isfinite(rewards[self.alive[t]]).all():
            env, agent = np.argwhere(~np.isfinite(rewards) & self.alive[t])[0]
            raise ValueError(f"agent {self.names[agent]!r} got a reward of {rewards[env, agent]} "
                             f"in environment {env} at step {t}; rewards must be finite")
        self.length = t + 1

    def valid(self, name: str) -> np.ndarray:
        """The stored steps of one array: [length, num_envs, ...]."""
        return getattr(self, name)[: self.length]


def gae(rewards: np.ndarray, values: np.ndarray, next_values: np.ndarray,
        terminated: np.ndarray, truncated: np.ndarray, alive: np.ndarray,
        gamma: float, lam: float) -> Tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimates and returns, in float64.

    Every argument is [T, E, N] (steps, environments, agents). ``values[t]``
    is V(s_t), ``next_values[t]`` the value of the state after step t. For
    an agent alive at t:

    * ``delta_t = r_t + gamma * (1 - terminated_t) * next_values_t - values_t``:
      termination stops the bootstrap; truncation (and the rollout's last
      step) bootstraps from the next state's value;
    * ``A_t = delta_t + gamma * lam * A_{t+1}`` while the agent's episode goes
      on: the sum stops where the agent's episode ended (terminated,
      truncated, or not alive at t + 1) and at the rollout's end.

    Entries of agents not alive at t are 0.

    Returns:
      (advantages, returns), [T, E, N] each; returns = advantages + values.
    """
    rewards, values, next_values = (np.asarray(x, np.float64)
                                    for x in (rewards, values, next_values))
    alive = np.asarray(alive, bool)
    steps = rewards.shape[0]
    advantages = np.zeros_like(rewards)
    carried = np.zeros_like(rewards[0])
    for t in reversed(range(steps)):
        delta = rewards[t] + gamma * (1.0 - terminated[t]) * next_values[t] - values[t]
        goes_on = ~(terminated[t] | truncated[t])
        goes_on &= alive[t + 1] if t + 1 < steps else False
        carried = np.where(alive[t], delta + gamma * lam * goes_on * carried, 0.0)
        advantages[t] = carried
    return advantages, np.where(alive, advantages + values, 0.0)

"""A tiny PettingZoo ParallelEnv whose numbers reveal what the adapter did."""

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv


class LeavingEnv(ParallelEnv):
    """Three agents of different kinds; ``runner`` terminates early.

    * ``walker``: Discrete(3) actions, 3 observations; reward = its action.
    * ``runner``: Box(-1, 1, (2,)) actions, 4 observations; reward = sum of
      the action it received (so clipping shows); terminated at ``leave_at``.
    * ``pointer``: Discrete(4) actions, 2 observations; reward = 10 * action.

    Every observation is filled with ``step + 0.1 * agent index``; every
    agent is truncated after ``max_steps`` steps.
    """

    metadata = {"name": "leaving_v0"}

    def __init__(self, leave_at=2, max_steps=5):
        self.possible_agents = ["walker", "runner", "pointer"]
        self.leave_at, self.max_steps = leave_at, max_steps
        self._obs_dims = {"walker": 3, "runner": 4, "pointer": 2}
        self._action_spaces = {"walker": spaces.Discrete(3),
                               "runner": spaces.Box(-1.0, 1.0, (2,), np.float32),
                               "pointer": spaces.Discrete(4)}
        self.agents = []
        self.t = 0

    def observation_space(self, agent):
        return spaces.Box(-np.inf, np.inf, (self._obs_dims[agent],), np.float32)

    def action_space(self, agent):
        return self._action_spaces[agent]

    def _obs(self, agent):
        index = self.possible_agents.index(agent)
        return np.full(self._obs_dims[agent], self.t + 0.1 * index, np.float32)

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.t = 0
        return {a: self._obs(a) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        rewards = {}
        for agent in self.agents:
            action = actions[agent]
            if agent == "runner":
                rewards[agent] = float(np.sum(action))
            else:
                rewards[agent] = float(action) * (10 if agent == "pointer" else 1)
        terminated = {a: a == "runner" and self.t >= self.leave_at for a in self.agents}
        truncated = {a: self.t >= self.max_steps for a in self.agents}
        obs = {a: self._obs(a) for a in self.agents}
        infos = {a: {"t": self.t} for a in self.agents}
        self.agents = [a for a in self.agents if not (terminated[a] or truncated[a])]
        return obs, rewards, terminated, truncated, infos

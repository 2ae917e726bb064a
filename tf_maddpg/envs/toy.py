"""A small Gym-style multi-agent environment that ships with tf_maddpg, as an example.

``RendezvousEnv`` is written the way the MADDPG write-up drives an
environment: a ``gymnasium.Env`` whose observation and action spaces are
``Tuple`` spaces with one entry per agent (``env.observation_space[i]``), and
whose ``step`` takes a list of actions and returns lists. tf_maddpg takes it
as it is (``EnvAdapter`` wraps it in a ``TupleParallelEnv``)::

    import tf_maddpg
    from tf_maddpg import MADDPGConfig
    from tf_maddpg.envs.toy import RendezvousEnv

    result = tf_maddpg.train(MADDPGConfig(num_episodes=2000), lambda: RendezvousEnv())

Copy it as the starting point of your own environment. Nothing here imports
TensorFlow.
"""

from __future__ import annotations

from typing import List, Optional

import gymnasium
import numpy as np
from gymnasium import spaces

MOVES = np.array([[0.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]], np.float32)
"""The Discrete(5) actions as directions: stay, left, right, down, up."""


class RendezvousEnv(gymnasium.Env):
    """Agents on a plane walk to one shared landmark.

    Each agent starts at a random point of [-1, 1]^2 and the landmark at
    another. On every step each agent moves ``speed`` in the direction of its
    action; its reward is minus its distance to the landmark. The episode is
    truncated after ``max_steps`` steps (nothing terminates it earlier).

    Observation of agent i (``4 + 2 * (num_agents - 1)`` floats): its
    position, the landmark relative to it, then every other agent relative
    to it.

    Args:
      num_agents: how many agents (at least 1).
      continuous: Box(-1, 1, (2,)) actions (a velocity) instead of
        Discrete(5) (stay, left, right, down, up).
      max_steps: steps per episode.
      speed: distance moved per step at full action.
      render_mode: ``"rgb_array"`` to get frames from ``render()``.

    Raises:
      ValueError: ``num_agents`` or ``max_steps`` is below 1, or ``speed`` is not positive.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, num_agents: int = 2, continuous: bool = False, max_steps: int = 25,
                 speed: float = 0.1, render_mode: Optional[str] = None):
        if int(num_agents) < 1:
            raise ValueError(f"num_agents={num_agents} is invalid: expected an integer >= 1")
        if int(max_steps) < 1:
            raise ValueError(f"max_steps={max_steps} is invalid: expected an integer >= 1")
        if not speed > 0:
            raise ValueError(f"speed={speed} is invalid: expected a number > 0")
        self.num_agents = int(num_agents)
        self.continuous = bool(continuous)
        self.max_steps = int(max_steps)
        self.speed = float(speed)
        self.render_mode = render_mode
        obs_dim = 4 + 2 * (self.num_agents - 1)
        self.observation_space = spaces.Tuple(
            [spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32)
             for _ in range(self.num_agents)])
        action = (spaces.Box(-1.0, 1.0, (2,), np.float32) if self.continuous
                  else spaces.Discrete(len(MOVES)))
        self.action_space = spaces.Tuple([action] * self.num_agents)
        self.positions = np.zeros((self.num_agents, 2), np.float32)
        self.landmark = np.zeros(2, np.float32)
        self.steps = 0

    def reset(self, seed: Optional[int] = None, options: Optional[dict] = None):
        """Places the agents and the landmark at random: ``(observations, info)``."""
        super().reset(seed=seed)
        self.positions = self.np_random.uniform(-1, 1, (self.num_agents, 2)).astype(np.float32)
        self.landmark = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        self.steps = 0
        return self._observations(), {}

    def step(self, actions):
        """Moves every agent: ``(observations, rewards, terminated, truncated, info)``.

        Args:
          actions: one action per agent, in order: an int in [0, 5) or a
            2-vector in [-1, 1] with ``continuous=True``.

        Returns:
          A tuple of observations, a list of rewards (one per agent), False,
          whether the time limit is reached, and an empty info dict.
        """
        if len(actions) != self.num_agents:
            raise ValueError(f"step needs {self.num_agents} actions, got {len(actions)}")
        for i, action in enumerate(actions):
            if self.continuous:
                move = np.clip(np.asarray(action, np.float32).reshape(2), -1.0, 1.0)
            else:
                move = MOVES[int(action)]
            self.positions[i] = np.clip(self.positions[i] + self.speed * move, -1.5, 1.5)
        self.steps += 1
        distances = np.linalg.norm(self.positions - self.landmark, axis=1)
        rewards = [-float(d) for d in distances]
        return self._observations(), rewards, False, self.steps >= self.max_steps, {}

    def render(self):
        """A [200, 200, 3] uint8 frame with ``render_mode="rgb_array"``, else None."""
        if self.render_mode != "rgb_array":
            return None
        size = 200
        frame = np.full((size, size, 3), 255, np.uint8)

        def paint(point, colour, radius):
            x, y = ((np.asarray(point) + 1.5) / 3.0 * (size - 1)).astype(int)
            frame[max(size - 1 - y - radius, 0): size - y + radius,
                  max(x - radius, 0): x + radius + 1] = colour

        paint(self.landmark, (40, 40, 40), 4)
        palette = [(66, 114, 196), (221, 132, 82), (85, 168, 104), (196, 78, 82)]
        for i, position in enumerate(self.positions):
            paint(position, palette[i % len(palette)], 6)
        return frame

    def _observations(self) -> tuple:
        observations: List[np.ndarray] = []
        for i, position in enumerate(self.positions):
            others = [p - position for j, p in enumerate(self.positions) if j != i]
            observations.append(np.concatenate([position, self.landmark - position, *others])
                                .astype(np.float32))
        return tuple(observations)

"""mpe2 scenarios stepped without PettingZoo's wrapper layers, bit for bit as their parallel_env.

An mpe2 ``parallel_env`` is ``aec_to_parallel(OrderEnforcingWrapper(
AssertOutOfBoundsWrapper or ClipOutOfBoundsWrapper(raw_env)))``: one parallel
step runs every agent's AEC step through three wrapper layers before the
world moves once, at the last agent's turn. On simple_adversary_v3 the layers
cost more than the world itself (docs/benchmarks.md). ``DirectParallelEnv``
drives the same ``raw_env`` (its world, scenario and random generator) the
way that last AEC step does: every agent's action into ``current_actions``,
``_execute_world_step()``, count the step, truncate every agent at
``max_cycles`` or else terminate every agent when the scenario's
``is_terminal`` says so, then observe. Its observations, rewards,
terminations and truncations equal ``parallel_env``'s for the same seed and
actions, for every mpe2 scenario (tests/test_mpe_direct.py).

It relies on ``SimpleEnv``'s internals, checked against the mpe2 versions
that setup.cfg admits; ``make_env(..., direct=False)`` uses the standard
wrapper stack instead.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

_REQUIRED = ("current_actions", "_execute_world_step", "observe", "steps", "max_cycles",
             "scenario", "world")


class DirectParallelEnv(ParallelEnv):
    """A PettingZoo ``ParallelEnv`` over an mpe2 ``raw_env``, without the wrapper layers.

    Args:
      raw: an mpe2 scenario's ``raw_env(...)`` (a ``SimpleEnv``).

    Raises:
      TypeError: ``raw`` is not an mpe2 ``SimpleEnv`` with the internals
        this class drives.

    Actions are checked as the wrappers check them: a Discrete action must be
    an integer in range (ValueError otherwise), a Box action is clipped to
    the bounds.
    """

    def __init__(self, raw):
        missing = [name for name in _REQUIRED if not hasattr(raw, name)]
        if missing or not hasattr(raw, "possible_agents"):
            raise TypeError(f"{type(raw).__name__} is not an mpe2 SimpleEnv this version of "
                            f"tf_maddpg can drive (missing {missing}); use make_env(..., "
                            "direct=False)")
        self.raw = raw
        self.metadata = dict(raw.metadata, is_parallelizable=True)
        self.render_mode = raw.render_mode
        self.possible_agents = list(raw.possible_agents)
        self.agents: list = []
        # (size, None) for Discrete(size); (low, high) for a Box.
        self._checks = []
        for agent in self.possible_agents:
            space = raw.action_space(agent)
            if isinstance(space, spaces.Discrete):
                self._checks.append((int(space.n), None))
            else:
                self._checks.append((space.low, space.high))

    @property
    def unwrapped(self):
        """The mpe2 ``raw_env``."""
        return self.raw

    def observation_space(self, agent: str) -> spaces.Space:
        """The agent's observation space (the raw env's)."""
        return self.raw.observation_space(agent)

    def action_space(self, agent: str) -> spaces.Space:
        """The agent's action space (the raw env's)."""
        return self.raw.action_space(agent)

    def reset(self, seed: Optional[int] = None, options: Optional[dict] = None):
        """Starts an episode: ``(observations, infos)``, as ``parallel_env.reset``."""
        self.raw.reset(seed=seed, options=options)
        self.agents = self.possible_agents[:]
        obs = {agent: self.raw.observe(agent) for agent in self.agents}
        return obs, dict(**self.raw.infos)

    def step(self, actions: Dict[str, Any]):
        """One step of every agent: ``(obs, rewards, terminations, truncations, infos)``.

        Raises:
          KeyError: an agent in the episode has no action.
          ValueError: a Discrete action is not an integer in range, or a Box
            action has the wrong shape.
        """
        if not self.agents:  # as parallel_env after the episode's end: nothing happens
            return {}, {}, {}, {}, {}
        agents = self.agents
        obs, rewards, terminated, truncated = self.step_list([actions[a] for a in agents])
        return (dict(zip(agents, obs)), dict(zip(agents, rewards)),
                dict.fromkeys(agents, terminated), dict.fromkeys(agents, truncated),
                dict(**self.raw.infos))

    def step_list(self, actions: Sequence[Any]) -> Tuple[List[np.ndarray], List[float], bool, bool]:
        """``step`` with lists: one action per agent in ``possible_agents`` order.

        Returns:
          ``(observations, rewards, terminated, truncated)``: one observation
          and reward per agent in that order, and the two flags, which mpe2
          sets for every agent at once.
        """
        raw = self.raw
        current = []
        for agent, action, (first, second) in zip(self.possible_agents, actions, self._checks):
            if second is None:  # Discrete(first)
                index = int(action)
                if index != action or not 0 <= index < first:
                    raise ValueError(f"agent {agent!r}: action {action!r} is not in "
                                     f"Discrete({first})")
                current.append(index)
            else:
                action = np.asarray(action)
                if action.shape != first.shape:
                    raise ValueError(f"agent {agent!r}: a Box action needs shape "
                                     f"{first.shape}, got {action.shape}")
                current.append(np.clip(action, first, second))
        raw.current_actions = current
        raw._execute_world_step()
        raw.steps += 1
        truncated = raw.steps >= raw.max_cycles
        terminated = not truncated and bool(raw.scenario.is_terminal(raw.world))
        for agent in self.agents:
            raw.truncations[agent] = truncated
            raw.terminations[agent] = terminated
        obs = [raw.observe(agent) for agent in self.possible_agents]
        rewards = [raw.rewards[agent] for agent in self.possible_agents]
        if truncated or terminated:
            self.agents = []
            raw.agents = []
        if self.render_mode == "human":
            raw.render()
        return obs, rewards, terminated, truncated

    def render(self):
        """The raw env's ``render()``."""
        return self.raw.render()

    def state(self) -> np.ndarray:
        """Every agent's observation, concatenated (the raw env's ``state()``)."""
        return self.raw.state()

    def close(self) -> None:
        """Closes the raw env."""
        self.raw.close()

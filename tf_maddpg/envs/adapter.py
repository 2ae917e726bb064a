"""The PettingZoo adapter: dicts keyed by agent name <-> lists in a fixed order.

The order is ``possible_agents``. An agent that has left the episode (or has
not joined it) still has its slot: a zero observation, a zero reward, and
``alive`` False, so every list always has one entry per possible agent.
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional, Sequence

import numpy as np
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils.conversions import aec_to_parallel

from tf_maddpg.envs.mpe_direct import DirectParallelEnv
from tf_maddpg.envs.specs import AgentSpec, column_slices


class StepResult(NamedTuple):
    """What ``EnvAdapter.step`` returns, one entry per agent in fixed order."""

    obs: List[np.ndarray]
    """Next observations (zeros for agents that are not in the episode)."""
    rewards: List[float]
    terminated: List[bool]
    """True once the agent's episode has ended for good (no bootstrap). An
    agent that was already gone before this step also reads True."""
    truncated: List[bool]
    """True when the episode was cut by a time limit (the value bootstraps)."""
    infos: List[dict]


class PackedStep(NamedTuple):
    """What ``EnvAdapter.step_packed`` returns: arrays with one column (block) per agent."""

    obs: np.ndarray
    """[obs_width] float32: next observations, zeros for agents not in the episode."""
    rewards: np.ndarray
    """[num_agents] float32."""
    terminated: np.ndarray
    """[num_agents] bool, as ``StepResult.terminated``."""
    truncated: np.ndarray
    """[num_agents] bool."""
    alive: np.ndarray
    """[num_agents] bool: who is still in the episode after this step."""


class EnvAdapter:
    """Wraps a PettingZoo environment so that it speaks fixed-order lists.

    Args:
      env: a PettingZoo ``ParallelEnv``, or an ``AECEnv`` (converted with
        PettingZoo's own ``aec_to_parallel``).

    Attributes:
      env: the wrapped ``ParallelEnv``.
      agents: agent names in the fixed order (``possible_agents``).
      specs: one ``AgentSpec`` per agent, in that order.
    """

    def __init__(self, env):
        if isinstance(env, AECEnv):
            env = aec_to_parallel(env)
        if not isinstance(env, ParallelEnv):
            raise TypeError(f"expected a PettingZoo ParallelEnv or AECEnv, got {type(env).__name__}")
        self.env = env
        self.agents = tuple(env.possible_agents)
        self.specs = tuple(
            AgentSpec.from_spaces(a, env.observation_space(a), env.action_space(a))
            for a in self.agents)
        self._index = {a: i for i, a in enumerate(self.agents)}
        self._alive = [False] * len(self.agents)
        # The packed layout: agent i's columns of a packed observation / action row.
        self.obs_slices = column_slices([s.obs_dim for s in self.specs])
        self.action_slices = column_slices([s.action_dim for s in self.specs])
        self.obs_width = sum(s.obs_dim for s in self.specs)
        self.action_width = sum(s.action_dim for s in self.specs)
        self._bounds = [None if s.discrete else (np.float32(s.low), np.float32(s.high))
                        for s in self.specs]
        # DirectParallelEnv's list step, for step_packed (mpe2 ends every agent together).
        self._direct = env if isinstance(env, DirectParallelEnv) else None

    @property
    def num_agents(self) -> int:
        """Number of agent slots (len(possible_agents))."""
        return len(self.agents)

    @property
    def alive(self) -> List[bool]:
        """Which agents are in the episode now and will act on the next step."""
        return list(self._alive)

    @property
    def done(self) -> bool:
        """True when no agent is left in the episode (reset before stepping)."""
        return not any(self._alive)

    def reset(self, seed: Optional[int] = None) -> List[np.ndarray]:
        """Starts an episode and returns the observations as a list."""
        obs, _ = self.env.reset(seed=seed)
        self._alive = [a in obs for a in self.agents]
        return self._obs_list(obs)

    def step(self, actions: Sequence[Any]) -> StepResult:
        """Steps every agent that is alive.

        Args:
          actions: one action per agent slot. Discrete: an int, or a one-hot
            or probability vector (its argmax is taken). Box: a vector,
            clipped to the bounds. Entries of agents that are not alive are
            ignored.

        Returns:
          A ``StepResult`` of lists in agent order.
        """
        if len(actions) != self.num_agents:
            raise ValueError(f"step() needs {self.num_agents} actions (one per agent in "
                             f"{self.agents}), got {len(actions)}")
        if self.done:
            raise RuntimeError("step() called on a finished episode; call reset() first")
        was_alive = self._alive
        action_dict = {a: self._to_env_action(spec, act)
                       for a, spec, act, alive in zip(self.agents, self.specs, actions, was_alive)
                       if alive}
        obs, rewards, terminated, truncated, infos = self.env.step(action_dict)
        still_in = set(getattr(self.env, "agents", ()))
        term = [bool(terminated.get(a, not alive)) for a, alive in zip(self.agents, was_alive)]
        trunc = [bool(truncated.get(a, False)) for a in self.agents]
        self._alive = [alive and a in still_in and not t and not tr
                       for a, alive, t, tr in zip(self.agents, was_alive, term, trunc)]
        return StepResult(
            obs=self._obs_list(obs),
            rewards=[float(rewards.get(a, 0.0)) for a in self.agents],
            terminated=term,
            truncated=trunc,
            infos=[infos.get(a, {}) for a in self.agents])

    def reset_packed(self, seed: Optional[int] = None) -> np.ndarray:
        """``reset`` with the observations packed in one row [obs_width]."""
        obs, _ = self.env.reset(seed=seed)
        self._alive = [a in obs for a in self.agents]
        return self._obs_row(obs)

    def step_packed(self, actions: np.ndarray) -> PackedStep:
        """``step`` for the training loop: one packed action row in, packed arrays out.

        Args:
          actions: [action_width], every agent's action in its columns (a
            Discrete agent's argmax is taken; a Box agent's values are
            clipped to the bounds). Columns of agents that are not alive are
            ignored. Unlike ``step``, nothing is validated: this is the hot loop.
        """
        was_alive = self._alive
        if self._direct is not None:  # mpe2: every agent acts until the episode ends
            obs, rewards, terminated, truncated = self._direct.step_list(
                [int(actions[cols].argmax()) if bounds is None else np.clip(actions[cols], *bounds)
                 for cols, bounds in zip(self.action_slices, self._bounds)])
            self._alive = [not (terminated or truncated)] * self.num_agents
            n = self.num_agents
            return PackedStep(np.concatenate(obs), np.array(rewards, np.float32),
                              np.full(n, terminated), np.full(n, truncated), np.array(self._alive))
        action_dict = {}
        for agent, cols, bounds, alive in zip(self.agents, self.action_slices, self._bounds,
                                              was_alive):
            if alive:
                action_dict[agent] = (int(actions[cols].argmax()) if bounds is None
                                      else np.clip(actions[cols], *bounds))
        obs, rewards, terminated, truncated, _ = self.env.step(action_dict)
        still_in = set(getattr(self.env, "agents", ()))
        term = np.array([bool(terminated.get(a, not alive)) for a, alive
                         in zip(self.agents, was_alive)])
        trunc = np.array([bool(truncated.get(a, False)) for a in self.agents])
        self._alive = [alive and a in still_in and not t and not tr
                       for a, alive, t, tr in zip(self.agents, was_alive, term, trunc)]
        return PackedStep(self._obs_row(obs),
                          np.array([rewards.get(a, 0.0) for a in self.agents], np.float32),
                          term, trunc, np.array(self._alive))

    def to_list(self, values: Dict[str, Any], fill: Any = None) -> list:
        """A dict keyed by agent name -> a list in agent order (``fill`` where missing)."""
        return [values.get(agent, fill) for agent in self.agents]

    def to_dict(self, values: Sequence[Any], only_alive: bool = False) -> Dict[str, Any]:
        """A list in agent order -> a dict keyed by agent name."""
        if len(values) != self.num_agents:
            raise ValueError(f"expected {self.num_agents} values, got {len(values)}")
        return {a: v for a, v, alive in zip(self.agents, values, self._alive)
                if alive or not only_alive}

    def render(self):
        """The wrapped env's ``render()``: an RGB frame when made with ``render_mode="rgb_array"``."""
        return self.env.render()

    def close(self) -> None:
        """Closes the wrapped environment."""
        self.env.close()

    def _obs_row(self, obs: Dict[str, Any]) -> np.ndarray:
        row = np.zeros(self.obs_width, np.float32)
        for agent, cols in zip(self.agents, self.obs_slices):
            if agent in obs:
                row[cols] = obs[agent]
        return row

    def _obs_list(self, obs: Dict[str, Any]) -> List[np.ndarray]:
        return [np.asarray(obs[a], np.float32) if a in obs else np.zeros(s.obs_dim, np.float32)
                for a, s in zip(self.agents, self.specs)]

    @staticmethod
    def _to_env_action(spec: AgentSpec, action):
        if spec.discrete:
            action = np.asarray(action)
            if action.ndim == 0:
                index = int(action)
            elif action.shape == (spec.action_dim,):
                index = int(np.argmax(action))
            else:
                raise ValueError(f"agent {spec.name!r}: a Discrete({spec.action_dim}) action "
                                 f"must be an int or a vector of {spec.action_dim}, "
                                 f"got shape {action.shape}")
            if not 0 <= index < spec.action_dim:
                raise ValueError(f"agent {spec.name!r}: action {index} is outside "
                                 f"Discrete({spec.action_dim})")
            return index
        action = np.asarray(action, np.float32).reshape(-1)
        if action.shape != (spec.action_dim,):
            raise ValueError(f"agent {spec.name!r}: a Box action needs {spec.action_dim} "
                             f"values, got {action.shape[0]}")
        return np.clip(action, np.float32(spec.low), np.float32(spec.high))


def as_adapter(env) -> EnvAdapter:
    """``env`` itself if it is an ``EnvAdapter``, else an ``EnvAdapter`` around it."""
    return env if isinstance(env, EnvAdapter) else EnvAdapter(env)

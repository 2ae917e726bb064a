"""The PettingZoo adapter: dicts keyed by agent name <-> lists in a fixed order.

The order is ``possible_agents``. An agent that has left the episode (or has
not joined it) still has its slot: a zero observation, a zero reward, and
``alive`` False, so every list always has one entry per possible agent.

What enters is checked where it enters: an action or an observation with a
NaN or an infinity raises ``FloatingPointError`` and an observation of the
wrong size raises ``ValueError``, each naming the agent, so that one bad
number does not silently turn every later observation and reward into NaN.
A Gymnasium environment with ``Tuple`` observation and action spaces (one
entry per agent) is accepted too: it is wrapped in a
``tf_maddpg.envs.gym_tuple.TupleParallelEnv``.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, NamedTuple, Optional, Sequence

import numpy as np
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils.conversions import aec_to_parallel

from tf_maddpg.envs.gym_tuple import TupleParallelEnv, is_tuple_env
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
    """One step in packed arrays, one column (block) per agent: of one environment
    (``EnvAdapter.step_packed``), or of many with a leading axis, row k environment k
    (``VecEnv.step``, where a row whose environment was not stepped, its episode
    over, is zeros with ``alive`` False)."""

    obs: np.ndarray
    """[(num_envs,) obs_width] float32: next observations, zeros for agents not in the
    episode."""
    rewards: np.ndarray
    """[(num_envs,) num_agents] float32."""
    terminated: np.ndarray
    """[(num_envs,) num_agents] bool, as ``StepResult.terminated``."""
    truncated: np.ndarray
    """[(num_envs,) num_agents] bool."""
    alive: np.ndarray
    """[(num_envs,) num_agents] bool: who is still in the episode after this step."""


class EnvAdapter:
    """Wraps a PettingZoo environment so that it speaks fixed-order lists.

    Args:
      env: a PettingZoo ``ParallelEnv``, an ``AECEnv`` (converted with
        PettingZoo's own ``aec_to_parallel``), or a Gymnasium environment
        whose observation and action spaces are ``Tuple`` spaces with one
        entry per agent (wrapped in a ``TupleParallelEnv``: agents
        ``agent_0`` ... ``agent_{n-1}``).

    Raises:
      TypeError: ``env`` is none of these.

    Attributes:
      env: the wrapped ``ParallelEnv``.
      agents: agent names in the fixed order (``possible_agents``).
      specs: one ``AgentSpec`` per agent, in that order.
    """

    def __init__(self, env):
        if isinstance(env, AECEnv):
            env = aec_to_parallel(env)
        elif not isinstance(env, ParallelEnv) and is_tuple_env(env):
            env = TupleParallelEnv(env)
        if not isinstance(env, ParallelEnv):
            raise TypeError(f"expected a PettingZoo ParallelEnv or AECEnv, or a Gymnasium env "
                            f"with Tuple observation and action spaces (one entry per agent), "
                            f"got {type(env).__name__}")
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
        return self._obs_list(obs, "reset()")

    def step(self, actions: Sequence[Any]) -> StepResult:
        """Steps every agent that is alive.

        Args:
          actions: one action per agent slot. Discrete: an int, or a one-hot
            or probability vector (its argmax is taken). Box: a vector,
            clipped to the bounds. Entries of agents that are not alive are
            ignored.

        Returns:
          A ``StepResult`` of lists in agent order.

        Raises:
          ValueError: the number of actions, or an action's shape or value,
            does not fit its agent's action space; or the environment returned
            an observation of the wrong size (the message names the agent).
          FloatingPointError: an action, or an observation or reward that the
            environment returned, holds a NaN or an infinity (the message
            names the agent).
          RuntimeError: the episode has ended (call ``reset``).
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
        reward_list = [float(rewards.get(a, 0.0)) for a in self.agents]
        self._check_rewards(reward_list)
        return StepResult(
            obs=self._obs_list(obs, "step()"),
            rewards=reward_list,
            terminated=term,
            truncated=trunc,
            infos=[infos.get(a, {}) for a in self.agents])

    def reset_packed(self, seed: Optional[int] = None) -> np.ndarray:
        """``reset`` with the observations packed in one row [obs_width]."""
        obs, _ = self.env.reset(seed=seed)
        self._alive = [a in obs for a in self.agents]
        return self._obs_row(obs, "reset()")

    def step_packed(self, actions: np.ndarray) -> PackedStep:
        """``step`` for the training loop: one packed action row in, packed arrays out.

        Args:
          actions: [action_width], every agent's action in its columns (a
            Discrete agent's argmax is taken; a Box agent's values are
            clipped to the bounds). Columns of agents that are not alive are
            ignored.

        This is the hot loop, so it checks only what costs next to nothing:
        the row's size, and one sum each of the actions, the observations and
        the rewards to see that they are finite (the agent is looked up only
        when one is not).

        Raises:
          ValueError: ``actions`` is not [action_width], or the environment
            returned an observation of the wrong size (the message names the agent).
          FloatingPointError: an action, observation or reward holds a NaN or
            an infinity (the message names the agent).
        """
        if actions.shape != (self.action_width,):
            raise ValueError(f"step_packed() needs one packed action row of "
                             f"{self.action_width} values (agents {self._widths('action')}), "
                             f"got shape {actions.shape}")
        if not math.isfinite(actions.sum()):
            self._check_action_row(actions)
        was_alive = self._alive
        if self._direct is not None:  # mpe2: every agent acts until the episode ends
            obs, rewards, terminated, truncated = self._direct.step_list(
                [int(actions[cols].argmax()) if bounds is None else np.clip(actions[cols], *bounds)
                 for cols, bounds in zip(self.action_slices, self._bounds)])
            self._alive = [not (terminated or truncated)] * self.num_agents
            n = self.num_agents
            row = np.concatenate(obs)
            if row.shape != (self.obs_width,) or not math.isfinite(row.sum()):
                self._obs_row(dict(zip(self.agents, obs)), "step()")  # says which agent
            if not math.isfinite(sum(rewards)):
                self._check_rewards(rewards)
            return PackedStep(row.astype(np.float32, copy=False), np.array(rewards, np.float32),
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
        reward_list = [float(rewards.get(a, 0.0)) for a in self.agents]
        if not math.isfinite(sum(reward_list)):
            self._check_rewards(reward_list)
        return PackedStep(self._obs_row(obs, "step()"), np.array(reward_list, np.float32),
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

    def _obs_row(self, obs: Dict[str, Any], where: str) -> np.ndarray:
        row = np.zeros(self.obs_width, np.float32)
        for agent, spec, cols in zip(self.agents, self.specs, self.obs_slices):
            if agent in obs:
                try:
                    row[cols] = obs[agent]
                except (ValueError, TypeError):
                    self._check_obs(spec, obs[agent], where)
                    raise
        if not math.isfinite(row.sum()):
            for agent, spec, cols in zip(self.agents, self.specs, self.obs_slices):
                self._check_obs(spec, row[cols], where)
        return row

    def _obs_list(self, obs: Dict[str, Any], where: str) -> List[np.ndarray]:
        values = []
        for agent, spec in zip(self.agents, self.specs):
            if agent in obs:
                values.append(self._check_obs(spec, obs[agent], where))
            else:
                values.append(np.zeros(spec.obs_dim, np.float32))
        return values

    @staticmethod
    def _check_obs(spec: AgentSpec, value, where: str) -> np.ndarray:
        """One agent's observation as float32 [obs_dim], or the error that names the agent."""
        try:
            value = np.asarray(value, np.float32)
        except (TypeError, ValueError) as error:
            raise ValueError(f"agent {spec.name!r}: the environment's {where} returned an "
                             f"observation that is not an array of numbers ({error})") from None
        if value.shape != (spec.obs_dim,):
            raise ValueError(f"agent {spec.name!r}: the environment's {where} returned an "
                             f"observation of shape {value.shape}, but its observation space "
                             f"has shape ({spec.obs_dim},); fix the environment or its "
                             "observation_space")
        if not np.isfinite(value).all():
            raise FloatingPointError(
                f"agent {spec.name!r}: the environment's {where} returned a non-finite "
                f"observation ({_first_bad(value)}); a NaN or an infinity there would spread "
                "into every later step, so it is refused")
        return value

    def _check_rewards(self, rewards: Sequence[float]) -> None:
        for spec, reward in zip(self.specs, rewards):
            if not math.isfinite(reward):
                raise FloatingPointError(
                    f"agent {spec.name!r}: the environment returned a non-finite reward "
                    f"({reward}); fix the environment's reward")

    def _check_action_row(self, actions: np.ndarray) -> None:
        for spec, cols in zip(self.specs, self.action_slices):
            values = np.asarray(actions[cols], np.float64)
            if not np.isfinite(values).all():
                raise FloatingPointError(
                    f"agent {spec.name!r}: its action is not finite ({_first_bad(values)}); "
                    "the policy produced a NaN or an infinity (a diverged network?), and "
                    "the environment would turn every later observation into NaN")

    def _widths(self, kind: str) -> str:
        sizes = [s.obs_dim if kind == "obs" else s.action_dim for s in self.specs]
        return ", ".join(f"{s.name} {n}" for s, n in zip(self.specs, sizes))

    @staticmethod
    def _to_env_action(spec: AgentSpec, action):
        if action is None:
            raise ValueError(f"agent {spec.name!r} is in the episode but its action is None")
        try:
            numbers = np.asarray(action, np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"agent {spec.name!r}: its action {action!r} is not a number or "
                             "an array of numbers") from None
        if not np.isfinite(numbers).all():
            raise FloatingPointError(
                f"agent {spec.name!r}: its action is not finite ({_first_bad(numbers)}); the "
                "environment would turn every later observation into NaN, so it is refused")
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


def _first_bad(values: np.ndarray) -> str:
    """``"nan at index 2"``: the first non-finite entry of an array, for a message."""
    values = np.asarray(values).reshape(-1)
    index = int(np.flatnonzero(~np.isfinite(values.astype(np.float64)))[0])
    return f"{values[index]} at index {index}"


def as_adapter(env) -> EnvAdapter:
    """``env`` itself if it is an ``EnvAdapter``, else an ``EnvAdapter`` around it."""
    return env if isinstance(env, EnvAdapter) else EnvAdapter(env)

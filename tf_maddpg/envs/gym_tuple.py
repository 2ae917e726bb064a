"""Gym-style multi-agent environments: spaces indexed by agent, lists in and out.

The MADDPG write-up (and openai/multiagent-particle-envs) drive a Gym
environment whose spaces are indexed by agent, ``env.observation_space[i]``,
and whose ``env.step(list_of_actions)`` returns lists. ``TupleParallelEnv``
turns such an environment into a PettingZoo ``ParallelEnv`` with agents
``agent_0`` ... ``agent_{n-1}``, so that everything in tf_maddpg (the
adapter, ``train``, evaluation, export) takes it as it is::

    import gymnasium
    from gymnasium import spaces

    class MyTupleEnv(gymnasium.Env):
        observation_space = spaces.Tuple([spaces.Box(-1, 1, (4,)), spaces.Box(-1, 1, (4,))])
        action_space = spaces.Tuple([spaces.Discrete(5), spaces.Discrete(5)])

        def reset(self, seed=None, options=None):
            ...
            return (obs_0, obs_1), {}

        def step(self, actions):          # actions: [action_0, action_1]
            ...
            return (obs_0, obs_1), [r_0, r_1], terminated, truncated, {}

    tf_maddpg.train(MADDPGConfig(...), lambda: MyTupleEnv())

What the wrapper accepts:

* spaces: a ``gymnasium.spaces.Tuple``, or a list or tuple of spaces (the
  older Gym style), for both observations and actions, of the same length;
* ``reset(seed=...)``: ``(observations, info)`` or the observations alone
  (an old Gym ``reset()`` without a seed gets ``env.seed(seed)`` first);
* ``step(actions)``: Gymnasium's five values ``(observations, rewards,
  terminated, truncated, info)`` or old Gym's four ``(observations, rewards,
  done, info)`` (``done`` counts as terminated). Rewards are a sequence with
  one entry per agent, or one number that every agent shares;
  ``terminated``, ``truncated`` and ``done`` are one flag for everyone or a
  sequence with one flag per agent. ``info`` is a dict (given to every agent)
  or a sequence of dicts.

An agent whose episode has ended (its flag set) leaves the episode: it gets
no action on later steps (the wrapped environment receives ``None`` in its
slot) and the episode ends when every agent has left.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv


def agent_spaces(space) -> Optional[List[spaces.Space]]:
    """The per-agent spaces of a ``Tuple`` space or a list/tuple of spaces, else None."""
    if isinstance(space, spaces.Tuple):
        return list(space.spaces)
    if isinstance(space, (list, tuple)) and space and all(isinstance(s, spaces.Space)
                                                         for s in space):
        return list(space)
    return None


def is_tuple_env(env) -> bool:
    """Whether ``env`` looks like a Gym-style multi-agent environment that
    ``TupleParallelEnv`` wraps: ``reset`` and ``step`` methods, and observation
    and action spaces indexed by agent (a ``Tuple`` or a list of spaces)."""
    return (callable(getattr(env, "reset", None)) and callable(getattr(env, "step", None))
            and agent_spaces(getattr(env, "observation_space", None)) is not None
            and agent_spaces(getattr(env, "action_space", None)) is not None)


class TupleParallelEnv(ParallelEnv):
    """A PettingZoo ``ParallelEnv`` over a Gym-style environment with per-agent spaces.

    Args:
      env: a ``gymnasium.Env`` (or any object with ``reset``, ``step``,
        ``observation_space`` and ``action_space``) whose spaces hold one
        entry per agent (see the module docstring for what it may return).
      agent_names: the agents' names, in the spaces' order (default
        ``agent_0`` ... ``agent_{n-1}``).

    Raises:
      TypeError: the spaces are not indexed by agent.
      ValueError: the observation and action spaces have different numbers
        of entries, or ``agent_names`` has the wrong length or repeats a name.

    Attributes:
      env: the wrapped environment.
    """

    def __init__(self, env, agent_names: Optional[Sequence[str]] = None):
        observation_spaces = agent_spaces(getattr(env, "observation_space", None))
        action_spaces = agent_spaces(getattr(env, "action_space", None))
        if observation_spaces is None or action_spaces is None:
            raise TypeError(f"{type(env).__name__}'s observation_space and action_space must be "
                            "gymnasium.spaces.Tuple (or lists of spaces), one entry per agent")
        if len(observation_spaces) != len(action_spaces):
            raise ValueError(f"{type(env).__name__} has {len(observation_spaces)} observation "
                             f"spaces but {len(action_spaces)} action spaces; it needs one of "
                             "each per agent")
        n = len(observation_spaces)
        names = list(agent_names) if agent_names is not None else [f"agent_{i}" for i in range(n)]
        if len(names) != n or len(set(names)) != n:
            raise ValueError(f"agent_names must be {n} distinct names, got {names}")
        self.env = env
        self.possible_agents = names
        self.agents: List[str] = []
        self.metadata = dict(getattr(env, "metadata", None) or {}, is_parallelizable=True)
        self.render_mode = getattr(env, "render_mode", None)
        self._observation_spaces = dict(zip(names, observation_spaces))
        self._action_spaces = dict(zip(names, action_spaces))

    @property
    def unwrapped(self):
        """The wrapped environment's ``unwrapped`` (itself for a plain object)."""
        return getattr(self.env, "unwrapped", self.env)

    def observation_space(self, agent: str) -> spaces.Space:
        """The agent's entry of the wrapped observation space."""
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        """The agent's entry of the wrapped action space."""
        return self._action_spaces[agent]

    def reset(self, seed: Optional[int] = None, options: Optional[dict] = None):
        """Resets the wrapped environment: ``(observations, infos)`` keyed by agent."""
        kwargs = {}
        if self._reset_takes("seed"):
            kwargs["seed"] = seed
        elif seed is not None and callable(getattr(self.env, "seed", None)):
            self.env.seed(seed)  # old Gym: seed(), then reset()
        if options is not None and self._reset_takes("options"):
            kwargs["options"] = options
        result = self.env.reset(**kwargs)
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict):
            obs, info = result
        else:
            obs, info = result, {}
        self.agents = list(self.possible_agents)
        return self._by_agent(obs, "observations"), self._infos(info)

    def step(self, actions: Dict[str, Any]):
        """Steps the wrapped environment with one list of actions, in agent order.

        Returns:
          ``(observations, rewards, terminations, truncations, infos)``, dicts
          keyed by the agents that were in the episode.

        Raises:
          KeyError: an agent in the episode has no action.
          ValueError: the wrapped environment returned something of the
            wrong length or form (the message says what).
        """
        if not self.agents:
            return {}, {}, {}, {}, {}
        acting = self.agents
        result = self.env.step([actions[a] if a in acting else None
                                for a in self.possible_agents])
        if not isinstance(result, tuple) or len(result) not in (4, 5):
            raise ValueError(f"{type(self.env).__name__}.step must return (observations, "
                             "rewards, terminated, truncated, info) or (observations, rewards, "
                             f"done, info), got {type(result).__name__}")
        if len(result) == 5:
            obs, rewards, terminated, truncated, info = result
        else:
            obs, rewards, terminated, info = result
            truncated = False
        obs = self._by_agent(obs, "observations")
        rewards = self._flags(rewards, "rewards", float)
        terminated = self._flags(terminated, "terminated", bool)
        truncated = self._flags(truncated, "truncated", bool)
        infos = self._infos(info)
        self.agents = [a for a in acting if not (terminated[a] or truncated[a])]
        keep = set(acting)
        return ({a: v for a, v in obs.items() if a in keep},
                {a: v for a, v in rewards.items() if a in keep},
                {a: v for a, v in terminated.items() if a in keep},
                {a: v for a, v in truncated.items() if a in keep},
                {a: v for a, v in infos.items() if a in keep})

    def render(self):
        """The wrapped environment's ``render()``."""
        return self.env.render()

    def close(self) -> None:
        """Closes the wrapped environment."""
        close = getattr(self.env, "close", None)
        if callable(close):
            close()

    def _reset_takes(self, name: str) -> bool:
        try:
            parameters = inspect.signature(self.env.reset).parameters
        except (TypeError, ValueError):
            return True
        return name in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())

    def _by_agent(self, values, what: str) -> Dict[str, Any]:
        if isinstance(values, np.ndarray) and values.dtype != object and values.ndim == 1:
            values = [values]  # one agent, one array: not a sequence of per-agent entries
        if not isinstance(values, (list, tuple, np.ndarray)) or len(values) != len(
                self.possible_agents):
            count = len(values) if hasattr(values, "__len__") else "not a sequence"
            raise ValueError(f"{type(self.env).__name__} returned {what} with {count} entries; "
                             f"expected one per agent ({len(self.possible_agents)}), in the "
                             "order of its spaces")
        return dict(zip(self.possible_agents, values))

    def _flags(self, values, what: str, kind) -> Dict[str, Any]:
        if np.isscalar(values) or (isinstance(values, np.ndarray) and values.ndim == 0):
            return dict.fromkeys(self.possible_agents, kind(values))  # shared by every agent
        return {a: kind(v) for a, v in self._by_agent(values, what).items()}

    def _infos(self, info) -> Dict[str, dict]:
        if isinstance(info, (list, tuple)) and len(info) == len(self.possible_agents):
            return {a: dict(i or {}) for a, i in zip(self.possible_agents, info)}
        return {a: dict(info or {}) for a in self.possible_agents}


__all__ = ["TupleParallelEnv", "agent_spaces", "is_tuple_env"]

"""Per-agent specs read from PettingZoo spaces: what the networks and buffer need."""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence, Tuple

import numpy as np
from gymnasium import spaces


@dataclasses.dataclass(frozen=True)
class AgentSpec:
    """The sizes of one agent's observation and action.

    Attributes:
      name: the agent's PettingZoo name, e.g. ``"adversary_0"``.
      obs_dim: length of the flat observation vector.
      action_dim: number of discrete actions, or length of the Box action.
      discrete: True for a ``Discrete`` action space, False for a ``Box``.
      low, high: the Box bounds (one float per action dimension); None for
        Discrete.
    """

    name: str
    obs_dim: int
    action_dim: int
    discrete: bool
    low: Optional[Tuple[float, ...]] = None
    high: Optional[Tuple[float, ...]] = None

    @classmethod
    def from_spaces(cls, name: str, observation_space: spaces.Space,
                    action_space: spaces.Space) -> "AgentSpec":
        """Reads a spec from an agent's observation and action spaces.

        Raises:
          ValueError: the observation space is not a 1-D Box, or the action
            space is neither Discrete nor a 1-D Box with finite bounds.
        """
        if not (isinstance(observation_space, spaces.Box)
                and len(observation_space.shape) == 1):
            raise ValueError(
                f"agent {name!r}: observation space {observation_space} is not "
                "supported; tf_maddpg needs a 1-D Box (flatten it with "
                "gymnasium.spaces.flatten_space and a wrapper).")
        obs_dim = int(observation_space.shape[0])
        if isinstance(action_space, spaces.Discrete):
            if int(action_space.start) != 0:
                raise ValueError(f"agent {name!r}: Discrete action space must start at 0, "
                                 f"got start={action_space.start}.")
            return cls(name, obs_dim, int(action_space.n), True)
        if isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
            low = np.asarray(action_space.low, np.float64)
            high = np.asarray(action_space.high, np.float64)
            if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))
                    and np.all(high > low)):
                raise ValueError(f"agent {name!r}: Box action space {action_space} "
                                 "needs finite bounds with high > low.")
            return cls(name, obs_dim, int(action_space.shape[0]), False,
                       tuple(float(x) for x in low), tuple(float(x) for x in high))
        raise ValueError(
            f"agent {name!r}: action space {action_space} is not supported; "
            "tf_maddpg handles Discrete and 1-D Box action spaces.")


def joint_dims(specs: Sequence[AgentSpec]) -> Tuple[int, int]:
    """Total observation and action sizes over all agents (the critic's input)."""
    return (sum(s.obs_dim for s in specs), sum(s.action_dim for s in specs))


def column_slices(sizes: Sequence[int]) -> List[slice]:
    """The columns of each block when blocks of ``sizes`` sit side by side in one row.

    The one definition of the packed layout: every agent's observation (or
    action) in a packed row sits at ``column_slices(sizes)[i]``, agents in
    the adapter's order.
    """
    starts = np.cumsum([0, *sizes])
    return [slice(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:])]

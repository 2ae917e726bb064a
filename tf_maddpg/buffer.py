"""The replay buffer: preallocated NumPy arrays per agent and a ring pointer."""

from __future__ import annotations

import os
from typing import NamedTuple, Sequence, Tuple

import numpy as np

from tf_maddpg.specs import AgentSpec

FIELDS = ("obs", "actions", "rewards", "next_obs", "terminated", "alive")


class Batch(NamedTuple):
    """A sample of transitions: every field is a tuple with one array per agent.

    Shapes, for B transitions: ``obs``/``next_obs`` [B, obs_dim_i];
    ``actions`` [B, action_dim_i] (one-hot for Discrete); ``rewards``,
    ``terminated`` and ``alive`` [B]. All float32; ``terminated`` and
    ``alive`` hold 0.0 or 1.0 so the learner can use them as masks.
    """

    obs: Tuple[np.ndarray, ...]
    actions: Tuple[np.ndarray, ...]
    rewards: Tuple[np.ndarray, ...]
    next_obs: Tuple[np.ndarray, ...]
    terminated: Tuple[np.ndarray, ...]
    alive: Tuple[np.ndarray, ...]


class ReplayBuffer:
    """A fixed-capacity ring of multi-agent transitions.

    Args:
      specs: one ``AgentSpec`` per agent, in the adapter's order.
      capacity: the number of transitions kept; the oldest are overwritten.
    """

    def __init__(self, specs: Sequence[AgentSpec], capacity: int):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.specs = tuple(specs)
        self.capacity = int(capacity)
        self._pointer = 0
        self._size = 0
        n = self.capacity
        self._arrays = {
            "obs": [np.zeros((n, s.obs_dim), np.float32) for s in self.specs],
            "actions": [np.zeros((n, s.action_dim), np.float32) for s in self.specs],
            "rewards": [np.zeros(n, np.float32) for _ in self.specs],
            "next_obs": [np.zeros((n, s.obs_dim), np.float32) for s in self.specs],
            "terminated": [np.zeros(n, np.float32) for _ in self.specs],
            "alive": [np.zeros(n, np.float32) for _ in self.specs],
        }

    def __len__(self) -> int:
        return self._size

    @property
    def pointer(self) -> int:
        """Index the next transition will be written to."""
        return self._pointer

    def add(self, obs, actions, rewards, next_obs, terminated, alive) -> None:
        """Stores one transition; each argument holds one entry per agent.

        Actions are stored as given (one-hot vectors for Discrete agents); an
        agent that is not alive gets a zero action and zero observations, so
        that the critic always sees a dead agent as zeros.
        """
        i = self._pointer
        for k, spec in enumerate(self.specs):
            live = bool(alive[k])
            self._arrays["alive"][k][i] = live
            self._arrays["obs"][k][i] = obs[k] if live else 0.0
            self._arrays["actions"][k][i] = _action_vector(spec, actions[k]) if live else 0.0
            self._arrays["rewards"][k][i] = rewards[k] if live else 0.0
            self._arrays["next_obs"][k][i] = next_obs[k] if live else 0.0
            self._arrays["terminated"][k][i] = bool(terminated[k]) or not live
        self._pointer = (i + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> Batch:
        """Draws ``batch_size`` distinct transitions uniformly at random.

        Raises:
          ValueError: fewer than ``batch_size`` transitions are stored.
        """
        if batch_size > self._size:
            raise ValueError(f"cannot sample {batch_size} transitions from a buffer "
                             f"holding {self._size}; wait for minimal_size transitions")
        index = rng.choice(self._size, size=batch_size, replace=False)
        return Batch(*(tuple(np.take(a, index, axis=0) for a in self._arrays[f])
                       for f in FIELDS))

    def save(self, path: str | os.PathLike) -> None:
        """Writes the whole buffer to one ``.npz`` file."""
        arrays = {f"{f}_{k}": a[: self._size] for f in FIELDS
                  for k, a in enumerate(self._arrays[f])}
        np.savez(path, pointer=self._pointer, size=self._size, capacity=self.capacity,
                 obs_dims=[s.obs_dim for s in self.specs],
                 action_dims=[s.action_dim for s in self.specs], **arrays)

    def load(self, path: str | os.PathLike) -> None:
        """Restores a buffer written by ``save``.

        Raises:
          ValueError: the file was written for other agents' sizes or a
            different capacity.
        """
        with np.load(path) as data:
            obs_dims = [s.obs_dim for s in self.specs]
            action_dims = [s.action_dim for s in self.specs]
            if (list(data["obs_dims"]) != obs_dims
                    or list(data["action_dims"]) != action_dims
                    or int(data["capacity"]) != self.capacity):
                raise ValueError(
                    f"{path}: replay buffer of capacity {int(data['capacity'])}, observation "
                    f"sizes {list(data['obs_dims'])} and action sizes "
                    f"{list(data['action_dims'])} does not match this one (capacity "
                    f"{self.capacity}, {obs_dims}, {action_dims})")
            size = int(data["size"])
            for f in FIELDS:
                for k, a in enumerate(self._arrays[f]):
                    a[:size] = data[f"{f}_{k}"]
                    a[size:] = 0
            self._size = size
            self._pointer = int(data["pointer"])


def _action_vector(spec: AgentSpec, action) -> np.ndarray:
    """An int (Discrete) becomes a one-hot vector; vectors pass through."""
    action = np.asarray(action, np.float32)
    if spec.discrete and action.ndim == 0:
        return np.eye(spec.action_dim, dtype=np.float32)[int(action)]
    return action

"""The episode replay of recurrent Q-networks: a ring of whole episodes (EPyMARL's
``EpisodeBatch`` replay), so that an update can unroll a GRU from each episode's start.

An episode is ``episode_length`` packed transition rows (``TransitionLayout``,
the replay buffer's rows): its steps in order, then zero rows (padding) up to
the episode length. A padded step is every agent not alive, so the learner's
masks of agents that left also mask it; ``filled`` (the steps an episode has)
is kept beside the rows. The capacity and the counts are in transitions, as
the run's ``buffer_size``, ``batch_size`` and ``minimal_size``: ``capacity //
episode_length`` episodes are kept, the oldest overwritten first.

The off-policy loop feeds it a round at a time (``start_round``, ``add_step``
for every lockstep step, ``end_round``): each environment's steps go to an
open episode, and ``end_round`` stores the round's episodes, in environment
order. The loop's updates during a round sample the episodes of earlier
rounds; checkpoints, taken between rounds, never see an open episode.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from tf_maddpg.envs.specs import AgentSpec
from tf_maddpg.storage.replay import ReplayBuffer


class EpisodeReplay(ReplayBuffer):
    """A fixed-capacity ring of whole multi-agent episodes.

    It is a ``ReplayBuffer`` whose preallocated rows are seen as
    [capacity // episode_length, episode_length, layout.width]: the same
    memory check and the same checks of what goes in (``prepare_packed``).

    Args:
      specs: one ``AgentSpec`` per agent, in the adapter's order.
      capacity: transitions kept (a run's ``buffer_size``), a multiple of
        ``episode_length``.
      episode_length: the most steps of an episode.

    Raises:
      ValueError: ``capacity`` is not a positive multiple of ``episode_length``.
      MemoryError: as ``ReplayBuffer``'s.
    """

    def __init__(self, specs: Sequence[AgentSpec], capacity: int, episode_length: int):
        if episode_length < 1 or capacity < episode_length or capacity % episode_length:
            raise ValueError(f"capacity ({capacity}) must be a positive multiple of "
                             f"episode_length ({episode_length}): the episode replay holds "
                             "whole episodes")
        super().__init__(specs, capacity)
        self.episode_length = int(episode_length)
        self.max_episodes = self.capacity // self.episode_length
        # [episodes, T, width]: a view of the buffer's rows.
        self._episodes = self._data.reshape(self.max_episodes, self.episode_length,
                                            self.layout.width)
        self._filled = np.zeros(self.max_episodes, np.int64)  # steps of each stored episode
        self._episode_pointer = 0
        self._num_episodes = 0
        self._transitions = 0
        self._open = None  # [E, T, width]: the round's episodes, being played
        self._open_steps = None  # [E]

    def __len__(self) -> int:
        """Transitions in the stored episodes (open ones not counted)."""
        return self._transitions

    @property
    def num_episodes(self) -> int:
        """Episodes stored."""
        return self._num_episodes

    def filled(self, rows: np.ndarray) -> np.ndarray:
        """The valid steps [..., T] bool of sampled episodes [..., T, width]: some agent alive."""
        return rows[..., self.layout.scalar_columns("alive")].any(axis=-1)

    # --- Adding a round of episodes -----------------------------------------------------

    def start_round(self, num_rows: int) -> None:
        """Opens an empty episode for each of ``num_rows`` lockstep environments."""
        self._open = np.zeros((num_rows, self.episode_length, self.layout.width), np.float32)
        self._open_steps = np.zeros(num_rows, np.int64)

    def add_step(self, rows: np.ndarray, alive: np.ndarray, acting: np.ndarray) -> None:
        """Appends one step to the open episodes of the environments ``acting`` [E].

        Args:
          rows: [E, layout.width] packed transitions (their alive columns are
            rewritten from ``alive``).
          alive: [E, num_agents] bool.
          acting: [E] bool: the environments still in their episode.

        Raises:
          ValueError: no round is open, or an episode would be longer than
            ``episode_length``; and as ``ReplayBuffer.add_packed``.
        """
        if self._open is None or len(rows) != len(self._open):
            raise ValueError("EpisodeReplay.add_step: call start_round(num_envs) first, with "
                             "as many environments as the rows")
        cleaned, flags = self.prepare_packed(rows[acting], alive[acting])
        cleaned[:, self.layout.scalar_columns("alive")] = flags
        envs = np.flatnonzero(acting)
        steps = self._open_steps[envs]
        if (steps >= self.episode_length).any():
            raise ValueError(f"EpisodeReplay.add_step: an episode is longer than "
                             f"episode_length ({self.episode_length})")
        self._open[envs, steps] = cleaned
        self._open_steps[envs] += 1

    def end_round(self) -> None:
        """Stores the round's episodes (those with a step), in environment order."""
        if self._open is None:
            return
        for episode, steps in zip(self._open, self._open_steps):
            if not steps:
                continue
            p = self._episode_pointer
            self._transitions += int(steps) - int(self._filled[p])
            self._episodes[p] = episode
            self._filled[p] = steps
            self._episode_pointer = (p + 1) % self.max_episodes
            self._num_episodes = min(self._num_episodes + 1, self.max_episodes)
        self._open = self._open_steps = None

    def add_packed(self, rows, alive) -> None:
        raise TypeError("an EpisodeReplay stores whole episodes: add them with start_round, "
                        "add_step and end_round")

    # --- Sampling ---------------------------------------------------------------------------

    def sample_packed(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """Draws ``batch_size // episode_length`` distinct episodes uniformly at random:
        [episodes, episode_length, layout.width], padded steps zeros.

        Raises:
          ValueError: ``batch_size`` is not a multiple of ``episode_length``,
            or fewer episodes are stored.
        """
        if batch_size % self.episode_length:
            raise ValueError(f"batch_size ({batch_size}) must be a multiple of episode_length "
                             f"({self.episode_length}): the episode replay samples episodes")
        count = batch_size // self.episode_length
        if count > self._num_episodes:
            raise ValueError(f"cannot sample {count} episodes from a replay holding "
                             f"{self._num_episodes}; wait for minimal_size transitions")
        index = rng.choice(self._num_episodes, size=count, replace=False)
        return np.take(self._episodes, index, axis=0)

    def sample(self, batch_size: int, rng: np.random.Generator):
        raise TypeError("an EpisodeReplay samples whole episodes: use sample_packed")

    # --- Checkpoints ------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Writes the stored episodes to one ``.npz`` file."""
        count = self._num_episodes
        np.savez(path, kind="episodes", pointer=self._episode_pointer, size=count,
                 capacity=self.capacity, episode_length=self.episode_length,
                 obs_dims=[s.obs_dim for s in self.specs],
                 action_dims=[s.action_dim for s in self.specs],
                 episodes=self._episodes[:count], filled=self._filled[:count])

    def load(self, path: str | os.PathLike) -> None:
        """Restores an episode replay written by ``save``.

        Raises:
          ValueError: the file was written for other agents' sizes, another
            capacity or episode length, or is a replay of single transitions.
        """
        with np.load(path) as data:
            obs_dims = [s.obs_dim for s in self.specs]
            action_dims = [s.action_dim for s in self.specs]
            if "episodes" not in data:
                raise ValueError(f"{path}: a replay of single transitions, not of episodes "
                                 "(was the run trained with agent='mlp'?)")
            if (list(data["obs_dims"]) != obs_dims or list(data["action_dims"]) != action_dims
                    or int(data["capacity"]) != self.capacity
                    or int(data["episode_length"]) != self.episode_length):
                raise ValueError(
                    f"{path}: episode replay of capacity {int(data['capacity'])}, episode "
                    f"length {int(data['episode_length'])}, observation sizes "
                    f"{list(data['obs_dims'])} and action sizes {list(data['action_dims'])} "
                    f"does not match this one (capacity {self.capacity}, episode length "
                    f"{self.episode_length}, {obs_dims}, {action_dims})")
            count = int(data["size"])
            self._episodes[:count] = data["episodes"]
            self._episodes[count:] = 0
            self._filled[:] = 0
            self._filled[:count] = data["filled"]
            self._num_episodes = count
            self._episode_pointer = int(data["pointer"])
            self._transitions = int(self._filled.sum())
        self._open = self._open_steps = None

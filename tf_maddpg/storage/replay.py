"""The replay buffer: one preallocated NumPy array of packed transitions and a ring pointer.

A transition is one float32 row (``TransitionLayout``): every agent's
observation, then every action, every next observation, and one column per
agent for the reward, the terminated flag and the alive flag. One row per
transition keeps storing and sampling to a single NumPy operation each, and
hands the learner one array instead of one per agent and field.
"""

from __future__ import annotations

import math
import os
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from tf_maddpg.envs.specs import AgentSpec, column_slices

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


class TransitionLayout:
    """Where each agent's fields sit in a packed transition row: the one definition
    of the column order.

    Columns, left to right (``COLUMNS``): ``obs`` of every agent, ``actions``
    of every agent, ``next_obs`` of every agent, then ``rewards``,
    ``terminated`` and ``alive`` with one column per agent each. Each
    per-agent block is laid out as the environments pack it
    (``tf_maddpg.envs.specs.column_slices``), so a packed observation row is
    the ``obs`` block as it is.

    Attributes:
      width: columns of a row.
      slices: ``slices[field][i]`` is agent i's ``slice`` of columns; the
        scalar fields' slices are one column wide.
      obs_width, action_width: sum of the agents' observation and action sizes.
    """

    COLUMNS = ("obs", "actions", "next_obs", "rewards", "terminated", "alive")

    def __init__(self, specs: Sequence[AgentSpec]):
        self.specs = tuple(specs)
        n = len(self.specs)
        obs_sizes = [s.obs_dim for s in self.specs]
        action_sizes = [s.action_dim for s in self.specs]
        sizes = {"obs": obs_sizes, "actions": action_sizes, "next_obs": obs_sizes,
                 "rewards": [1] * n, "terminated": [1] * n, "alive": [1] * n}
        self.obs_width = sum(obs_sizes)
        self.action_width = sum(action_sizes)
        self.slices: Dict[str, Tuple[slice, ...]] = {}
        start = 0
        for field in self.COLUMNS:
            self.slices[field] = tuple(slice(start + s.start, start + s.stop)
                                       for s in column_slices(sizes[field]))
            start += sum(sizes[field])
        self.width = start
        # For each column, the agent it belongs to: masks dead agents' columns in one product.
        self.column_agent = np.zeros(self.width, np.int64)
        for field in self.COLUMNS:
            for i, s in enumerate(self.slices[field]):
                self.column_agent[s] = i

    def pack(self, *, obs, actions, next_obs, rewards, terminated, alive) -> np.ndarray:
        """Packed rows [B, width] from each field's packed block.

        Args:
          obs, next_obs: [B, obs_width]; actions: [B, action_width];
          rewards, terminated, alive: [B, num_agents].
        """
        return np.concatenate([obs, actions, next_obs, rewards, terminated, alive], axis=1,
                              dtype=np.float32)

    def scalar_columns(self, field: str) -> slice:
        """The contiguous columns [N] of a per-agent scalar field (rewards, terminated, alive)."""
        first, last = self.slices[field][0], self.slices[field][-1]
        return slice(first.start, last.stop)

    def split(self, rows) -> Batch:
        """Packed rows [B, width] -> a ``Batch`` of column slices (NumPy views, or in a graph)."""
        def field(name):
            if name in ("rewards", "terminated", "alive"):
                return tuple(rows[:, s.start] for s in self.slices[name])
            return tuple(rows[:, s] for s in self.slices[name])
        return Batch(*(field(f) for f in Batch._fields))


class ReplayBuffer:
    """A fixed-capacity ring of multi-agent transitions.

    Args:
      specs: one ``AgentSpec`` per agent, in the adapter's order.
      capacity: the number of transitions kept; the oldest are overwritten
        (a run's ``buffer_size``).

    Raises:
      ValueError: ``capacity`` is below 1.
      MemoryError: the buffer would need more memory than the machine has
        (the message names buffer_size and the memory it would need).

    What goes in is checked: a field of the wrong size raises ``ValueError``
    and a NaN or an infinity raises ``FloatingPointError``, each naming the
    agent and the field.
    """

    def __init__(self, specs: Sequence[AgentSpec], capacity: int):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.specs = tuple(specs)
        self.capacity = int(capacity)
        self.layout = TransitionLayout(self.specs)
        check_buffer_fits(self.specs, self.capacity)
        try:
            self._data = np.zeros((self.capacity, self.layout.width), np.float32)
        except (MemoryError, ValueError) as error:  # ValueError: beyond the address space
            raise MemoryError(_too_big(self.specs, self.capacity, "the allocation failed: "
                                       + str(error).splitlines()[0])) from None
        self._pointer = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def pointer(self) -> int:
        """Index the next transition will be written to."""
        return self._pointer

    def add(self, obs, actions, rewards, next_obs, terminated, alive) -> None:
        """Stores one transition; each argument holds one entry per agent.

        Actions are stored as given (one-hot vectors for Discrete agents; an
        int is turned into one); an agent that is not alive gets zero
        observations, action and reward and reads terminated, so that the
        critic always sees a dead agent as zeros.

        Raises:
          ValueError: a field does not hold one entry per agent, or an
            agent's entry has the wrong size (the message names the agent
            and the field).
          FloatingPointError: an entry holds a NaN or an infinity (the
            message names the agent and the field).
        """
        specs = self.specs
        sizes = {"obs": [s.obs_dim for s in specs], "actions": [s.action_dim for s in specs],
                 "next_obs": [s.obs_dim for s in specs], "rewards": [1] * len(specs),
                 "terminated": [1] * len(specs), "alive": [1] * len(specs)}
        given = {"obs": obs, "actions": actions, "next_obs": next_obs, "rewards": rewards,
                 "terminated": terminated, "alive": alive}
        blocks = {}
        for field, values in given.items():
            if len(values) != len(specs):
                raise ValueError(f"ReplayBuffer.add: {field} has {len(values)} entries; "
                                 f"expected one per agent ({', '.join(s.name for s in specs)})")
            parts = []
            for spec, value, size in zip(specs, values, sizes[field]):
                try:
                    value = (_action_vector(spec, value) if field == "actions"
                             else np.asarray(value, np.float32).reshape(-1))
                except IndexError:
                    raise ValueError(f"ReplayBuffer.add: the action {value!r} of agent "
                                     f"{spec.name!r} is outside Discrete({spec.action_dim})"
                                     ) from None
                except (TypeError, ValueError) as error:
                    raise ValueError(f"ReplayBuffer.add: the {field} {value!r} of agent "
                                     f"{spec.name!r} is not a number or an array of numbers "
                                     f"({error})") from None
                if value.shape != (size,):
                    what = (f"a Discrete({spec.action_dim}) action is an int or "
                            f"{spec.action_dim} values" if field == "actions" and spec.discrete
                            else f"{size} value{'s' * (size != 1)}")
                    raise ValueError(f"ReplayBuffer.add: the {field} of agent {spec.name!r} "
                                     f"has {value.shape[0]} values; expected {what}")
                parts.append(value)
            blocks[field] = np.concatenate(parts)[None]
        self.add_packed(self.layout.pack(**{**blocks, "alive": np.ones((1, len(specs)))}),
                        np.asarray(alive, bool)[None])

    def add_packed(self, rows: np.ndarray, alive: np.ndarray) -> None:
        """Stores B transitions at once.

        Args:
          rows: [B, layout.width] packed transitions; their ``alive`` columns
            are ignored and rewritten from ``alive``.
          alive: [B, num_agents] bool: which agents acted in each transition.

        Raises:
          ValueError: ``rows`` is not [B, layout.width] or ``alive`` is not
            [B, num_agents].
          FloatingPointError: a row holds a NaN or an infinity (the message
            names the transition, the agent and the field).
        """
        rows, alive = self.prepare_packed(rows, alive)
        layout = self.layout
        count = rows.shape[0]
        if count > self.capacity:  # only the newest fit
            rows, alive = rows[-self.capacity:], alive[-self.capacity:]
            self._pointer = (self._pointer + count - self.capacity) % self.capacity
            self._size = self.capacity
            count = self.capacity
        start = self._pointer
        if start + count <= self.capacity:  # one contiguous block: the common case
            self._data[start: start + count] = rows
            self._data[start: start + count, layout.scalar_columns("alive")] = alive
        else:
            index = (start + np.arange(count)) % self.capacity
            self._data[index] = rows
            self._data[index, layout.scalar_columns("alive")] = alive
        self._pointer = (start + count) % self.capacity
        self._size = min(self._size + count, self.capacity)

    def prepare_packed(self, rows: np.ndarray, alive: np.ndarray):
        """``add_packed``'s checks and cleaning of B transitions, before they are stored.

        Returns:
          rows [B, layout.width] float32 with every dead agent's columns zeroed
          and its terminated flag set (its alive columns still to be written
          from ``alive``), and alive [B, num_agents] bool.

        Raises:
          ValueError, FloatingPointError: as ``add_packed``.
        """
        rows = np.asarray(rows, np.float32)
        alive = np.asarray(alive, bool)
        layout = self.layout
        if rows.ndim != 2 or rows.shape[1] != layout.width:
            raise ValueError(self._row_shape_message(rows.shape))
        if alive.shape != (rows.shape[0], len(self.specs)):
            raise ValueError(f"ReplayBuffer.add_packed: alive has shape {alive.shape}; expected "
                             f"({rows.shape[0]}, {len(self.specs)}), one flag per transition "
                             "and agent")
        if not math.isfinite(rows.sum(dtype=np.float64)):
            self._check_finite(rows, alive)
        if not alive.all():
            # A dead agent is zeros everywhere (whatever its columns held)...
            rows = np.where(alive[:, layout.column_agent], rows, np.float32(0))
            rows[:, layout.scalar_columns("terminated")] += ~alive  # ...and reads terminated
        return rows, alive

    # --- The off-policy loop's hooks (``training/off_policy.py``) ------------------------

    def start_round(self, num_rows: int) -> None:
        """A round of ``num_rows`` lockstep environments begins (nothing to do here;
        ``EpisodeReplay`` opens an episode per environment)."""

    def add_step(self, rows: np.ndarray, alive: np.ndarray, acting: np.ndarray) -> None:
        """Stores one lockstep step: the rows [E, layout.width] of the environments
        ``acting`` [E] (still in their episode), each agent's flags ``alive`` [E, N]."""
        self.add_packed(rows[acting], alive[acting])

    def end_round(self) -> None:
        """The round's episodes are over (nothing to do: every step is stored already)."""

    def _row_shape_message(self, shape) -> str:
        layout = self.layout
        blocks = ", ".join(f"{field} {sum(s.stop - s.start for s in layout.slices[field])}"
                           for field in layout.COLUMNS)
        got = f"{shape[1]} columns" if len(shape) == 2 else f"shape {tuple(shape)}"
        return (f"ReplayBuffer.add_packed: rows have {got}, but this buffer's transitions "
                f"have {layout.width} ({blocks}; agents "
                + ", ".join(f"{s.name} obs {s.obs_dim} action {s.action_dim}"
                            for s in self.specs)
                + "); were the rows packed for other agents' sizes?")

    def _check_finite(self, rows: np.ndarray, alive: np.ndarray) -> None:
        """Raises the FloatingPointError that names the first non-finite value's agent and field."""
        layout = self.layout
        for index, row in enumerate(rows):
            for field in layout.COLUMNS:
                for spec, columns, acted in zip(self.specs, layout.slices[field], alive[index]):
                    values = row[columns]
                    if acted and not np.isfinite(values).all():
                        raise FloatingPointError(
                            f"ReplayBuffer: the {field} of agent {spec.name!r} in transition "
                            f"{index} of {len(rows)} is not finite ({values.tolist()}); a NaN or "
                            "an infinity in the buffer would reach every update, so it is refused")
        # Only agents that had left the episode hold non-finite values: they are zeroed below.

    def sample_packed(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """Draws ``batch_size`` distinct transitions uniformly at random: [B, layout.width].

        Raises:
          ValueError: fewer than ``batch_size`` transitions are stored.
        """
        if batch_size > self._size:
            raise ValueError(f"cannot sample {batch_size} transitions from a buffer "
                             f"holding {self._size}; wait for minimal_size transitions")
        index = rng.choice(self._size, size=batch_size, replace=False)
        return np.take(self._data, index, axis=0)

    def sample(self, batch_size: int, rng: np.random.Generator) -> Batch:
        """``sample_packed`` split into a ``Batch`` (the same draw for the same generator)."""
        return self.layout.split(self.sample_packed(batch_size, rng))

    def save(self, path: str | os.PathLike) -> None:
        """Writes the stored transitions to one ``.npz`` file."""
        np.savez(path, pointer=self._pointer, size=self._size, capacity=self.capacity,
                 obs_dims=[s.obs_dim for s in self.specs],
                 action_dims=[s.action_dim for s in self.specs],
                 transitions=self._data[: self._size])

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
            if "transitions" not in data:
                raise ValueError(f"{path}: a replay buffer file from an older tf_maddpg "
                                 "(one array per field); start a new run")
            size = int(data["size"])
            self._data[:size] = data["transitions"]
            self._data[size:] = 0
            self._size = size
            self._pointer = int(data["pointer"])


def buffer_bytes(specs: Sequence[AgentSpec], capacity: int) -> int:
    """The bytes a ``ReplayBuffer`` of ``capacity`` transitions for ``specs`` allocates."""
    return int(capacity) * TransitionLayout(specs).width * np.dtype(np.float32).itemsize


def check_buffer_fits(specs: Sequence[AgentSpec], capacity: int) -> None:
    """Refuses a replay buffer of ``capacity`` transitions that would need more than the
    machine's memory, before anything is allocated.

    Raises:
      MemoryError: ``buffer_size=N: the replay buffer would need X (N transitions x W
        float32 columns), and that is more than this machine's memory; lower
        buffer_size (about M transitions would take half of this machine's Y)``.
    """
    physical = physical_memory()
    if physical is not None and buffer_bytes(specs, capacity) > physical:
        raise MemoryError(_too_big(specs, capacity, "that is more than this machine's memory"))


def _too_big(specs: Sequence[AgentSpec], capacity: int, problem: str) -> str:
    physical = physical_memory()
    fits = (f" (about {max_transitions(specs, physical // 2)} transitions would take half "
            f"of this machine's {format_bytes(physical)})" if physical else "")
    return (f"buffer_size={capacity}: the replay buffer would need "
            f"{format_bytes(buffer_bytes(specs, capacity))} ({capacity} transitions x "
            f"{TransitionLayout(specs).width} float32 columns), and {problem}; lower "
            f"buffer_size{fits}")


def max_transitions(specs: Sequence[AgentSpec], memory: int) -> int:
    """How many transitions of ``specs`` fit in ``memory`` bytes (rounded down)."""
    return int(memory) // (TransitionLayout(specs).width * np.dtype(np.float32).itemsize)


def physical_memory() -> Optional[int]:
    """The machine's physical memory in bytes, or None where it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def format_bytes(count: float) -> str:
    """``3.2 GiB``: a byte count for a message."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if count < 1024 or unit == "PiB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} PiB"


def _action_vector(spec: AgentSpec, action) -> np.ndarray:
    """An int (Discrete) becomes a one-hot vector; vectors pass through."""
    action = np.asarray(action, np.float32)
    if spec.discrete and action.ndim == 0:
        if not (np.isfinite(action) and 0 <= int(action) < spec.action_dim):
            raise IndexError(f"{action} is outside Discrete({spec.action_dim})")
        return np.eye(spec.action_dim, dtype=np.float32)[int(action)]
    return action.reshape(-1)

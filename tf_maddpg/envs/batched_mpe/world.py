"""The batched mpe2 world: every entity's state as arrays over environments, and
mpe2's physics step (``mpe2._mpe_utils.core.World.step``) vectorised over them.

Entities are ordered as in mpe2's ``world.entities``: agents first, then
landmarks. Only agents ever move (no mpe2 scenario has a movable landmark), so
velocities and communication states are kept for agents only.

The arithmetic follows mpe2 operation for operation (same expressions, same
order of the floating-point additions), so that a batched world and an mpe2
world given the same start state and actions stay bit for bit together.

mpe2's physics draws random numbers only for motor and communication noise
(``u_noise`` / ``c_noise``), which no mpe2 1.1.1 scenario sets; the batched
world has none. (collect_treasure's in-step respawns are the scenario's, see
``treasure.py``.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

# mpe2's default action sensitivity when an agent has no ``accel``.
DEFAULT_SENSITIVITY = 5.0


@dataclass(frozen=True)
class AgentSpec:
    """The fixed properties of one agent (mpe2 ``Agent`` attributes).

    Attributes:
      name: the agent's name in mpe2 (``possible_agents`` entry).
      size: radius, used by collisions.
      movable: whether the agent moves (physical actions).
      silent: whether the agent cannot communicate.
      collide: whether the agent takes part in collisions.
      accel: action sensitivity; None means mpe2's default 5.0.
      max_speed: speed limit; None means none.
      mass: the agent's mass (mpe2 ``initial_mass``).
    """

    name: str
    size: float = 0.050
    movable: bool = True
    silent: bool = False
    collide: bool = True
    accel: Optional[float] = None
    max_speed: Optional[float] = None
    mass: float = 1.0


@dataclass(frozen=True)
class LandmarkSpec:
    """The fixed properties of one landmark (never movable in mpe2's scenarios).

    Attributes:
      name: the landmark's name in mpe2.
      size: radius, used by collisions.
      collide: whether the landmark takes part in collisions.
    """

    name: str
    size: float = 0.050
    collide: bool = True


class BatchedWorld:
    """mpe2's ``World`` for ``num_envs`` environments at once.

    Args:
      num_envs: number of environments E.
      agents: the agents' specs, in mpe2's order.
      landmarks: the landmarks' specs, in mpe2's order.
      dim_c: communication channel dimension.

    Attributes:
      pos: ``[E, N + L, 2]`` float64 positions, agents then landmarks
        (C-contiguous; write into it in place, then call ``invalidate``).
      vel: ``[E, N, 2]`` float64 agent velocities (landmarks never move).
      comm: ``[E, N, dim_c]`` float64 agent communication states.
      accel: ``[E, N]`` action sensitivity per environment and agent
        (a scenario's curriculum may change it at reset).
      max_speed: ``[E, N]`` speed limit (``inf`` for none).
      sizes: ``[N + L]`` entity radii.
    """

    dt = 0.1
    damping = 0.25
    contact_force = 1e2
    contact_margin = 1e-3
    dim_p = 2

    def __init__(self, num_envs: int, agents: Sequence[AgentSpec],
                 landmarks: Sequence[LandmarkSpec], dim_c: int) -> None:
        self.num_envs = int(num_envs)
        self.agents = tuple(agents)
        self.landmarks = tuple(landmarks)
        self.dim_c = int(dim_c)
        n, m = len(self.agents), len(self.agents) + len(self.landmarks)
        self.num_agents, self.num_landmarks, self.num_entities = n, len(self.landmarks), m
        e = self.num_envs
        self.pos = np.zeros((e, m, 2))
        self.vel = np.zeros((e, n, 2))
        self.comm = np.zeros((e, n, self.dim_c))
        self.sizes = np.array([s.size for s in self.agents] + [s.size for s in self.landmarks])
        self.movable = np.array([a.movable for a in self.agents], dtype=bool)
        self.silent = np.array([a.silent for a in self.agents], dtype=bool)
        self.mass = np.array([a.mass for a in self.agents])
        self.base_accel = np.array(
            [DEFAULT_SENSITIVITY if a.accel is None else a.accel for a in self.agents])
        self.base_max_speed = np.array(
            [np.inf if a.max_speed is None else a.max_speed for a in self.agents])
        self.accel = np.tile(self.base_accel, (e, 1))
        self.max_speed = np.tile(self.base_max_speed, (e, 1))
        self._has_max_speed = any(a.max_speed is not None for a in self.agents)

        mov = np.flatnonzero(self.movable)
        # A slice keeps the all-movable case on views (no fancy-index copies).
        self._mov = slice(0, n) if len(mov) == n else mov
        self._num_movable = len(mov)
        self._mass_col = self.mass[mov][:, None]  # [Nm, 1]

        # Collisions: every colliding entity pushes every colliding movable agent.
        collide = [s.collide for s in self.agents] + [s.collide for s in self.landmarks]
        cols = [i for i in range(m) if collide[i]]
        recv = [int(i) for i in mov if collide[i]]
        self._recv_in_mov = np.searchsorted(mov, recv)  # receiver -> row of the movable block
        self._recv_all = len(recv) == len(mov)
        # mpe2 computes each unordered pair (a < b) once: +force on a, -force on b.
        pairs = [(a, b) for i, a in enumerate(cols) for b in cols[i + 1:]
                 if a in recv or b in recv]
        self._num_pairs = len(pairs)
        if pairs:
            self._pair_a = np.array([a for a, _ in pairs], dtype=np.intp)
            self._pair_b = np.array([b for _, b in pairs], dtype=np.intp)
            self._pair_dist_min = self.sizes[self._pair_a] + self.sizes[self._pair_b]  # [P]
            # An entity's pair forces are added in increasing partner order after
            # its action force. Round j adds, for every receiver, its force from
            # the j-th collider: an index into [+F (P), -F (P), 0 (self)].
            index = {pair: p for p, pair in enumerate(pairs)}
            p = len(pairs)
            self._rounds = [np.array([2 * p if r == c else (index[(r, c)] if r < c
                                                            else p + index[(c, r)])
                                      for r in recv], dtype=np.intp) for c in cols]
        self._rel: Optional[np.ndarray] = None
        self._dist: Optional[np.ndarray] = None

    def reset_env(self, e: int) -> None:
        """Zero environment ``e``'s velocities and communication, and restore
        the agents' own sensitivity and speed limit.

        Args:
          e: the environment's index.
        """
        self.vel[e] = 0.0
        self.comm[e] = 0.0
        self.accel[e] = self.base_accel
        self.max_speed[e] = self.base_max_speed
        self.invalidate()

    def invalidate(self) -> None:
        """Forget the cached ``relative()`` / ``distances()``; call after
        changing ``pos`` outside ``step``."""
        self._rel = None
        self._dist = None

    def relative(self) -> np.ndarray:
        """Every entity's position relative to every agent (cached until ``pos``
        changes through ``step``, ``reset_env`` or ``invalidate``).

        Returns:
          ``[E, N, N + L, 2]``: ``out[e, i, j] = pos[e, j] - pos[e, i]``.
        """
        if self._rel is None:
            e, n, m = self.num_envs, self.num_agents, self.num_entities
            # Complex subtraction is the componentwise float subtraction (same
            # bits) and gives NumPy longer inner loops than a trailing axis of 2.
            c = self.pos.view(np.complex128)[..., 0]  # [E, M]
            rel = np.subtract(c[:, None, :], c[:, :n, None], order="C")  # [E, N, M]
            self._rel = rel.view(np.float64).reshape(e, n, m, 2)
        return self._rel

    def distances(self) -> np.ndarray:
        """Every agent's distance to every entity, as mpe2 computes distances
        (cached like ``relative``).

        Returns:
          ``[E, N, N + L]``.
        """
        if self._dist is None:
            self._dist = norm2(self.relative())
        return self._dist

    def step(self, u: np.ndarray) -> None:
        """One mpe2 physics step for every environment: collision forces,
        damping, speed limit and integration (``World.step`` without the
        communication update, which the caller writes into ``comm``).

        Args:
          u: ``[E, N, 2]`` action forces (already multiplied by the agents'
            sensitivity); rows of agents that do not move are ignored.
        """
        if self._num_movable == 0:
            return
        self.invalidate()
        mov = self._mov
        force = u[:, mov]  # [E, Nm, 2] (a copy for an index array, a view for a slice)
        if self._num_pairs:
            force = self._add_collision_forces(np.array(force, copy=True))
        dt = self.dt
        vel = self.vel[:, mov]  # [E, Nm, 2]
        self.pos[:, mov] += vel * dt
        vel = vel * (1 - self.damping)
        vel += (force / self._mass_col) * dt
        self.vel[:, mov] = self._limit_speed(vel)

    def _limit_speed(self, vel: np.ndarray) -> np.ndarray:
        """The movable bodies' velocities ``vel`` ([E, Nm, 2]) scaled down to each body's
        max_speed where they exceed it (mpe2's speed limit); ``vel`` where none has one."""
        if not self._has_max_speed:
            return vel
        max_speed = self.max_speed[:, self._mov]  # [E, Nm]
        speed = np.sqrt(np.square(vel[..., 0]) + np.square(vel[..., 1]))  # [E, Nm]
        over = speed > max_speed
        if not over.any():
            return vel
        with np.errstate(invalid="ignore", divide="ignore"):
            clipped = vel / speed[..., None] * max_speed[..., None]
        return np.where(over[..., None], clipped, vel)

    def _add_collision_forces(self, force: np.ndarray) -> np.ndarray:
        """Add mpe2's soft contact forces (``get_collision_force``) to ``force``
        ([E, Nm, 2], in place), in mpe2's order of additions."""
        c = self.pos.view(np.complex128)[..., 0]  # [E, M]
        delta = np.subtract(c[:, self._pair_a], c[:, self._pair_b], order="C").view(np.float64)
        delta = delta.reshape(self.num_envs, self._num_pairs, 2)  # pos_a - pos_b
        dist = np.sqrt(np.square(delta[..., 0]) + np.square(delta[..., 1]))  # [E, P]
        k = self.contact_margin
        penetration = np.logaddexp(0, -(dist - self._pair_dist_min) / k) * k  # [E, P]
        pair = self.contact_force * delta / dist[..., None] * penetration[..., None]  # [E, P, 2]
        signed = np.concatenate([pair, -pair, np.zeros((self.num_envs, 1, 2))], axis=1)
        acc = force if self._recv_all else force[:, self._recv_in_mov]  # [E, R, 2]
        for index in self._rounds:
            acc += signed[:, index]
        if not self._recv_all:
            force[:, self._recv_in_mov] = acc
        return force


def norm2(delta: np.ndarray) -> np.ndarray:
    """Euclidean length over the last axis of size 2, as mpe2 computes it
    (``np.sqrt(np.sum(np.square(d)))`` gives the same bits for two components).

    Args:
      delta: ``[..., 2]`` vectors.

    Returns:
      ``[...]`` lengths.
    """
    return np.sqrt(np.square(delta[..., 0]) + np.square(delta[..., 1]))

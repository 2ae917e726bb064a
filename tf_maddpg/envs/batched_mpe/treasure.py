"""mpe2's collect_treasure_v1, batched, with its in-step random respawns.

mpe2's scenario keeps a deep copy of the reset generator (taken before the
reset's own draws) and uses it in ``post_step`` to respawn picked-up
treasures. ``RawStream`` replays that copy for every environment at once: it
holds a block of each generator's raw 64-bit outputs and turns them into
``uniform`` and ``integers`` values exactly as NumPy's ``Generator`` does for
PCG64, so the step needs no loop over environments.
"""

from __future__ import annotations

from typing import Any, List, Mapping

import numpy as np

from tf_maddpg.envs.batched_mpe.scenario import BatchedScenario, check_count
from tf_maddpg.envs.batched_mpe.world import AgentSpec, BatchedWorld, LandmarkSpec, norm2

_TYPE_COLORS = [
    np.array([0.212, 0.408, 0.776]),
    np.array([0.945, 0.553, 0.000]),
    np.array([0.169, 0.627, 0.173]),
    np.array([0.839, 0.149, 0.157]),
    np.array([0.580, 0.404, 0.741]),
    np.array([0.549, 0.337, 0.294]),
]
_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_SHIFT11 = np.uint64(11)
_DOUBLE_UNIT = 1.0 / 9007199254740992.0  # 2 ** -53, as NumPy's next_double


class RawStream:
    """Per-environment replay of a PCG64 ``Generator``'s draws, vectorised.

    NumPy's ``Generator`` turns PCG64's 64-bit outputs into doubles as
    ``(raw >> 11) * 2**-53`` and serves bounded integers below 2**32 from
    32-bit halves (low half first, the high half kept for the next 32-bit
    draw) with Lemire's rejection. This class does the same from a buffer of
    raw outputs per environment, refilled from each environment's own bit
    generator when it runs low.

    Args:
      num_envs: number of environments.
      block: raw outputs buffered per environment.
    """

    def __init__(self, num_envs: int, block: int) -> None:
        self.block = int(block)
        self.buf = np.zeros((num_envs, self.block), dtype=np.uint64)  # [E, B]
        self.cur = np.zeros(num_envs, dtype=np.intp)  # [E] next unread raw
        self.has32 = np.zeros(num_envs, dtype=bool)  # [E] a kept high half waits
        self.half = np.zeros(num_envs, dtype=np.uint64)  # [E] that high half
        self._bitgens: List[Any] = [None] * num_envs
        self._rows = np.arange(num_envs)

    def reset_env(self, e: int, rng: np.random.Generator) -> None:
        """Start environment ``e``'s stream as a copy of ``rng``'s current state.

        Args:
          e: the environment's index.
          rng: the generator to copy (left unchanged).
        """
        state = rng.bit_generator.state
        bitgen = np.random.PCG64()
        bitgen.state = state
        self._bitgens[e] = bitgen
        self.has32[e] = bool(state["has_uint32"])
        self.half[e] = np.uint64(state["uinteger"])
        self.buf[e] = bitgen.random_raw(self.block)
        self.cur[e] = 0

    def reserve(self, count: int) -> None:
        """Make sure every environment has ``count`` unread raw outputs.

        Args:
          count: raw outputs needed before the next ``reserve``.
        """
        low = np.flatnonzero(self.cur + count > self.block)
        for e in low:  # rare: a refill every many steps
            c = int(self.cur[e])
            self.buf[e, :self.block - c] = self.buf[e, c:]
            self.buf[e, self.block - c:] = self._bitgens[e].random_raw(c)
            self.cur[e] = 0

    def _raw(self, mask: np.ndarray) -> np.ndarray:
        out = self.buf[self._rows, np.minimum(self.cur, self.block - 1)]
        self.cur += mask
        return out

    def doubles(self, mask: np.ndarray) -> np.ndarray:
        """``Generator.random()`` for the environments in ``mask``.

        Args:
          mask: ``[E]`` bool, which environments draw.

        Returns:
          ``[E]`` values (meaningless where ``mask`` is False).
        """
        return (self._raw(mask) >> _SHIFT11).astype(np.float64) * _DOUBLE_UNIT

    def _uint32(self, mask: np.ndarray) -> np.ndarray:
        fresh = mask & ~self.has32
        raw = self._raw(fresh)
        out = np.where(self.has32, self.half, raw & _MASK32)
        self.half = np.where(fresh, raw >> _SHIFT32, self.half)
        self.has32 = np.where(mask, ~self.has32, self.has32)
        return out

    def integers(self, high: int, mask: np.ndarray) -> np.ndarray:
        """``Generator.integers(0, high)`` for the environments in ``mask``.

        Args:
          high: exclusive upper bound, at most 2**32.
          mask: ``[E]`` bool, which environments draw.

        Returns:
          ``[E]`` int64 values (meaningless where ``mask`` is False).
        """
        if high == 1:  # NumPy draws nothing for a one-value range
            return np.zeros(len(mask), dtype=np.int64)
        n = np.uint64(high)
        m = self._uint32(mask) * n
        threshold = np.uint64((2 ** 32 - high) % high)
        reject = mask & ((m & _MASK32) < threshold)
        while reject.any():  # Lemire's rejection, about once in 2**32 draws
            self.reserve(1)
            m = np.where(reject, self._uint32(reject) * n, m)
            reject = reject & ((m & _MASK32) < threshold)
        return (m >> _SHIFT32).astype(np.int64)


class CollectTreasure(BatchedScenario):
    """``mpe2.collect_treasure_v1``: collectors pick up treasures and bring
    them to the deposit of their type."""

    module = "collect_treasure_v1"
    OPTIONS = {"num_collectors": 6, "num_deposits": 2, "num_treasures": 6}
    _BOUND = 0.95
    _TREASURE_SIZE = 0.025

    def __init__(self, num_envs: int, options: Mapping[str, Any]) -> None:
        super().__init__(num_envs, options)
        o = self.options
        self.n_col = check_count(o["num_collectors"], "num_collectors", self.module, minimum=1)
        self.n_dep = check_count(o["num_deposits"], "num_deposits", self.module, minimum=1)
        self.n_tre = check_count(o["num_treasures"], "num_treasures", self.module, minimum=1)
        if self.n_dep > len(_TYPE_COLORS):
            raise ValueError(f"{self.module}: at most {len(_TYPE_COLORS)} deposit types are "
                             f"supported; got num_deposits={self.n_dep}")
        e = num_envs
        self.holding = np.full((e, self.n_col), -1, dtype=np.intp)  # [E, C] type held or -1
        self.ttype = np.zeros((e, self.n_tre), dtype=np.intp)  # [E, T] treasure types
        self.alive = np.ones((e, self.n_tre), dtype=bool)  # [E, T]
        self._collecting = np.zeros(e)  # [E] this step's pickup reward
        self._depositing = np.zeros(e)  # [E] this step's delivery reward
        max_cycles = int(o["max_cycles"])
        # A step draws at most 4 raw outputs per treasure (rejections aside).
        self._per_step = 4 * self.n_tre + 2
        self.stream = RawStream(e, min(self._per_step * max(max_cycles, 1) + 16,
                                       max(4096, 2 * self._per_step)))

    def make_world(self) -> BatchedWorld:
        """See ``BatchedScenario.make_world``."""
        c, d = self.n_col, self.n_dep
        agents = [AgentSpec(f"collector_{i}", size=0.05, silent=True, collide=False, accel=1.5,
                            max_speed=1.0, mass=1.0) for i in range(c)]
        agents += [AgentSpec(f"deposit_{i}", size=0.075, silent=True, collide=False, accel=1.5,
                             max_speed=1.0, mass=2.25) for i in range(d)]
        landmarks = [LandmarkSpec(f"treasure_{i}", size=self._TREASURE_SIZE, collide=False)
                     for i in range(self.n_tre)]
        n = c + d
        self._others = np.array([[j for j in range(n) if j != i] for i in range(n)],
                                dtype=np.intp).reshape(n, n - 1)
        # Each agent's encoding: [deposit type one-hot | holding one-hot].
        eye = np.eye(d)
        self._deposit_enc = np.concatenate([eye, np.zeros((d, d))], axis=1)  # [D, 2D]
        self._holding_enc = np.concatenate([np.zeros((d + 1, d)), np.eye(d + 1, d)], axis=1)
        self._onehot = np.concatenate([np.eye(d), np.zeros((1, d))])  # row -1 -> zeros
        return BatchedWorld(self.num_envs, agents, landmarks, dim_c=2)

    def reset_env(self, world: BatchedWorld, e: int, rng: np.random.Generator) -> None:
        """See ``BatchedScenario.reset_env``."""
        self.stream.reset_env(e, rng)  # mpe2 deep-copies the generator before drawing
        n = world.num_agents
        world.pos[e, :n] = rng.uniform(-1.0, 1.0, (n, 2))
        for t in range(self.n_tre):
            self.ttype[e, t] = int(rng.integers(0, self.n_dep))
            world.pos[e, n + t] = rng.uniform(-self._BOUND, self._BOUND, 2)
        self.holding[e] = -1
        self.alive[e] = True

    def post_step(self, world: BatchedWorld) -> None:
        """Pickups, respawns (from the replayed generator) and deliveries, in
        mpe2's order: treasures in order, then collectors in order."""
        n, c = world.num_agents, self.n_col
        e_rows = np.arange(self.num_envs)
        self.stream.reserve(self._per_step)
        collecting = np.zeros(self.num_envs)
        col_pos = world.pos[:, :c]  # [E, C, 2] (positions do not change here)
        reach = self._TREASURE_SIZE + 0.05
        for t in range(self.n_tre):
            alive = self.alive[:, t].copy()
            # Alive: the first free collector touching it takes it.
            d = norm2(world.pos[:, n + t, None] - col_pos)  # [E, C]
            cand = (self.holding < 0) & (d < reach)
            take = alive & cand.any(axis=1)
            if take.any():
                who = np.argmax(cand, axis=1)
                rows = np.flatnonzero(take)
                self.holding[rows, who[rows]] = self.ttype[rows, t]
                self.alive[rows, t] = False
                world.pos[rows, n + t] = -999.0
                collecting += 5.0 * take
            # Dead since an earlier step: respawn with the replayed generator.
            dead = ~alive
            if dead.any():
                self.stream.doubles(dead)  # ``uniform() <= respawn_prob`` (always 1.0)
                x = -self._BOUND + (2 * self._BOUND) * self.stream.doubles(dead)
                y = -self._BOUND + (2 * self._BOUND) * self.stream.doubles(dead)
                kind = self.stream.integers(self.n_dep, dead)
                rows = np.flatnonzero(dead)
                world.pos[rows, n + t, 0] = x[rows]
                world.pos[rows, n + t, 1] = y[rows]
                self.ttype[rows, t] = kind[rows]
                self.alive[rows, t] = True
        # Deliveries: a holder touching the deposit of its type hands it in.
        held = self.holding >= 0  # [E, C]
        dep_pos = world.pos[e_rows[:, None], c + np.maximum(self.holding, 0)]  # [E, C, 2]
        delivered = held & (norm2(col_pos - dep_pos) < 0.05 + 0.075)
        self.holding[delivered] = -1
        self._collecting = collecting
        self._depositing = 5.0 * delivered.sum(axis=1)
        world.invalidate()  # treasures moved

    def agent_rewards(self, world: BatchedWorld) -> np.ndarray:
        """See ``BatchedScenario.agent_rewards``."""
        n, c = world.num_agents, self.n_col
        e_rows = np.arange(self.num_envs)
        glob = self._collecting + self._depositing  # [E]
        col_pos, dep_pos = world.pos[:, :c], world.pos[:, c:n]
        out = np.empty((self.num_envs, n))
        # Collectors: -5 per overlapping collector, then distance shaping.
        dcc = norm2(col_pos[:, :, None] - col_pos[:, None])  # [E, C, C]
        overlap = (dcc < 0.05 + 0.05) & ~np.eye(c, dtype=bool)
        rew = -5.0 * overlap.sum(axis=2)  # [E, C]
        dct = norm2(world.pos[:, None, n:] - col_pos[:, :, None])  # [E, C, T]
        dct = np.where(self.alive[:, None, :], dct, np.inf)
        nearest = np.min(dct, axis=2)  # inf where no treasure is alive
        held = self.holding >= 0
        dep = dep_pos[e_rows[:, None], np.maximum(self.holding, 0)]  # [E, C, 2]
        to_dep = norm2(dep - col_pos)
        shaping = np.where(held, to_dep, nearest)
        has_target = held | np.isfinite(nearest)
        rew = np.where(has_target, rew - 0.1 * np.where(has_target, shaping, 0.0), rew)
        out[:, :c] = rew + glob[:, None]
        # Deposits: toward the closest collector holding their type, else the
        # collectors' centroid.
        dcd = norm2(col_pos[:, :, None] - dep_pos[:, None])  # [E, C, D]
        match = self.holding[:, :, None] == np.arange(self.n_dep)  # [E, C, D]
        closest = np.min(np.where(match, dcd, np.inf), axis=1)  # [E, D]
        centroid = np.mean(col_pos, axis=1)  # [E, 2]
        to_centroid = norm2(centroid[:, None] - dep_pos)  # [E, D]
        dist = np.where(match.any(axis=1), closest, to_centroid)
        out[:, c:] = (0.0 - 0.1 * dist) + glob[:, None]
        return out

    def observations(self, world: BatchedWorld) -> List[np.ndarray]:
        """See ``BatchedScenario.observations``."""
        e, n, c = self.num_envs, world.num_agents, self.n_col
        e_rows = np.arange(e)
        pos = world.pos[:, :n]
        # Other agents, closest first (Python's sorted is stable).
        rel = pos[:, None, :, :] - pos[:, :, None, :]  # [E, N, N, 2]
        rel_oth = rel[:, np.arange(n)[:, None], self._others]  # [E, N, N-1, 2]
        order = np.argsort(norm2(rel_oth), axis=2, kind="stable")  # [E, N, N-1]
        who = self._others[np.arange(n)[:, None], order]  # [E, N, N-1] agent index
        enc = np.concatenate([self._holding_enc[self.holding],  # [E, C, 2D]
                              np.broadcast_to(self._deposit_enc, (e, self.n_dep, 2 * self.n_dep))],
                             axis=1)  # [E, N, 2D]
        others = np.concatenate([
            np.take_along_axis(rel_oth, order[..., None], axis=2),
            world.vel[e_rows[:, None, None], who],
            enc[e_rows[:, None, None], who]], axis=3).reshape(e, n, -1)
        # Treasures: alive ones closest first, dead ones last as zeros.
        rel_t = world.pos[:, None, n:] - pos[:, :, None]  # [E, N, T, 2]
        key = np.where(self.alive[:, None, :], norm2(rel_t), 1e6)
        t_order = np.argsort(key, axis=2, kind="stable")  # [E, N, T]
        t_alive = np.take_along_axis(np.broadcast_to(self.alive[:, None], key.shape), t_order, 2)
        t_rel = np.take_along_axis(rel_t, t_order[..., None], axis=2)
        t_type = self._onehot[np.take_along_axis(np.broadcast_to(self.ttype[:, None], key.shape),
                                                 t_order, 2)]  # [E, N, T, D]
        treasures = np.where(t_alive[..., None], np.concatenate([t_rel, t_type], axis=3), 0.0)
        treasures = treasures.reshape(e, n, -1)
        holding = self._onehot[self.holding]  # [E, C, D]
        obs = []
        for i in range(n):
            parts = [pos[:, i], world.vel[:, i]]
            if i < c:
                parts.append(holding[:, i])
            obs.append(np.concatenate(parts + [others[:, i], treasures[:, i]], axis=1))
        return obs

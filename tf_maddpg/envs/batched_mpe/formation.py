"""mpe2's shape scenarios, simple_formation_v1 and simple_line_v1, batched.

Both reward every agent with the mean distance of an optimal agent-to-slot
assignment (mpe2 uses ``scipy.optimize.linear_sum_assignment`` per
environment). Here the assignment is a dynamic program over subsets of slots,
vectorised over environments, for up to ``MAX_DP_AGENTS`` agents; larger
teams fall back to scipy, one environment at a time.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, List, Mapping, Tuple

import numpy as np

from tf_maddpg.envs.batched_mpe.scenario import BatchedScenario, check_count
from tf_maddpg.envs.batched_mpe.world import AgentSpec, BatchedWorld, LandmarkSpec, norm2

MAX_DP_AGENTS = 12


class _AssignmentDP:
    """Minimum-cost assignment of N rows to N columns for many cost matrices.

    Rows are assigned in order; ``dp[mask]`` is the cheapest way to give the
    first ``popcount(mask)`` rows the columns in ``mask``. Each layer of masks
    of one popcount is one vectorised gather and minimum.

    Args:
      n: the matrix size N.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        index = {0: 0}  # mask -> position within its layer
        self.layers: List[Tuple[np.ndarray, np.ndarray]] = []
        for k in range(1, n + 1):
            masks = [sum(1 << j for j in cols) for cols in combinations(range(n), k)]
            prev, col = [], []
            for mask in masks:
                bits = [j for j in range(n) if mask >> j & 1]
                prev.append([index[mask ^ (1 << j)] for j in bits])
                col.append(bits)
            # Positions of the previous layer are valid until it is replaced.
            index = {mask: i for i, mask in enumerate(masks)}
            self.layers.append((np.array(prev, dtype=np.intp), np.array(col, dtype=np.intp)))

    def solve(self, cost: np.ndarray) -> np.ndarray:
        """Assign every row a column at least total cost.

        Args:
          cost: ``[E, N, N]`` costs (row, column).

        Returns:
          ``[E, N]`` the column of each row.
        """
        e, n = cost.shape[0], self.n
        dp = np.zeros((e, 1))
        choices = []
        for k, (prev, col) in enumerate(self.layers):
            cand = dp[:, prev] + cost[:, k, :][:, col]  # [E, masks, k + 1]
            choice = np.argmin(cand, axis=2)  # [E, masks]
            dp = np.take_along_axis(cand, choice[..., None], axis=2)[..., 0]
            choices.append(choice)
        rows = np.arange(e)
        pos = np.zeros(e, dtype=np.intp)  # the full mask, the last layer's only entry
        out = np.empty((e, n), dtype=np.intp)
        for k in range(n - 1, -1, -1):
            prev, col = self.layers[k]
            c = choices[k][rows, pos]
            out[:, k] = col[pos, c]
            pos = prev[pos, c]
        return out


class _ShapeScenario(BatchedScenario):
    """Shared parts of simple_formation and simple_line: N agents, a global
    reward from the optimal assignment to target slots, and the optional end
    on success (every matched distance below ``DIST_THRESHOLD``)."""

    OPTIONS = {"N": 4, "terminate_on_success": False}
    DIST_THRESHOLD = 0.05
    AGENT_SIZE = 0.05
    LANDMARKS: Tuple[Tuple[str, float], ...] = ()

    def __init__(self, num_envs: int, options: Mapping[str, Any]) -> None:
        super().__init__(num_envs, options)
        self.n = check_count(self.options["N"], "N", self.module, minimum=1)
        self.terminate_on_success = bool(self.options["terminate_on_success"])
        self.local_ratio = 0.0  # mpe2 passes local_ratio=0: every agent gets the global reward
        self._dp = _AssignmentDP(self.n) if self.n <= MAX_DP_AGENTS else None
        self._delta = np.zeros((num_envs, self.n))  # [E, N] matched distances of the last step
        self._has_delta = np.zeros(num_envs, dtype=bool)

    def make_world(self) -> BatchedWorld:
        """See ``BatchedScenario.make_world``."""
        agents = [AgentSpec(f"agent_{i}", size=self.AGENT_SIZE, silent=True)
                  for i in range(self.n)]
        landmarks = [LandmarkSpec(name, size=size, collide=False) for name, size in self.LANDMARKS]
        return BatchedWorld(self.num_envs, agents, landmarks, dim_c=0)

    def observations(self, world: BatchedWorld) -> List[np.ndarray]:
        """See ``BatchedScenario.observations``."""
        e, n = self.num_envs, self.n
        rel_lm = world.relative()[:, :, n:].reshape(e, n, -1)
        block = np.concatenate([world.vel, world.pos[:, :n], rel_lm], axis=2)
        return [block[:, i] for i in range(n)]

    def agent_rewards(self, world: BatchedWorld) -> np.ndarray:
        """See ``BatchedScenario.agent_rewards`` (mpe2's local reward is 0)."""
        return np.zeros((self.num_envs, self.n))

    def _targets(self, world: BatchedWorld) -> np.ndarray:
        """``[E, N, 2]`` the target slots now."""
        raise NotImplementedError

    def global_reward(self, world: BatchedWorld) -> np.ndarray:
        """See ``BatchedScenario.global_reward``."""
        n = self.n
        targets = self._targets(world)  # [E, N, 2]
        dists = norm2(world.pos[:, :n, None] - targets[:, None])  # [E, agent, slot]
        if self._dp is not None:
            cols = self._dp.solve(dists)
        else:
            from scipy.optimize import linear_sum_assignment
            cols = np.stack([linear_sum_assignment(d)[1] for d in dists])
        self._delta = np.take_along_axis(dists, cols[..., None], axis=2)[..., 0]  # [E, N]
        self._has_delta[:] = True
        return -np.mean(np.clip(self._delta, 0, 2), axis=1)

    def is_terminal(self, world: BatchedWorld):
        """See ``BatchedScenario.is_terminal``."""
        if not self.terminate_on_success:
            return None
        return self._has_delta & np.all(self._delta < self.DIST_THRESHOLD, axis=1)

    def reset_env(self, world: BatchedWorld, e: int, rng: np.random.Generator) -> None:
        """See ``BatchedScenario.reset_env``."""
        self._has_delta[e] = False
        self._reset_shape(world, e, rng)

    def _reset_shape(self, world: BatchedWorld, e: int, rng: np.random.Generator) -> None:
        raise NotImplementedError


class SimpleFormation(_ShapeScenario):
    """``mpe2.simple_formation_v1``: N agents form a circle of radius 0.5 around
    a landmark."""

    module = "simple_formation_v1"
    TARGET_RADIUS = 0.5
    LANDMARKS = (("landmark_0", 0.03),)

    def _reset_shape(self, world: BatchedWorld, e: int, rng: np.random.Generator) -> None:
        world.pos[e, :self.n] = rng.uniform(-1, 1, (self.n, 2))
        world.pos[e, self.n] = rng.uniform(-0.5, 0.5, 2)

    def _targets(self, world: BatchedWorld) -> np.ndarray:
        n = self.n
        lm = world.pos[:, n]  # [E, 2]
        rel = world.pos[:, :n] - lm[:, None]  # [E, N, 2]
        angle = np.arctan2(rel[..., 1], rel[..., 0])  # [E, N]
        angle = np.where(angle < 0, angle + 2 * np.pi, angle)
        theta = np.min(angle, axis=1)[:, None] + np.arange(n) * ((2 * np.pi) / n)  # [E, N]
        ring = np.stack([np.cos(theta), np.sin(theta)], axis=2)  # [E, N, 2]
        return lm[:, None] + self.TARGET_RADIUS * ring


class SimpleLine(_ShapeScenario):
    """``mpe2.simple_line_v1``: N agents spread evenly on the segment between
    two landmarks."""

    module = "simple_line_v1"
    AGENT_SIZE = 0.03
    TOTAL_SEP = 1.25
    LANDMARKS = (("landmark_0", 0.02), ("landmark_1", 0.02))

    def __init__(self, num_envs: int, options: Mapping[str, Any]) -> None:
        super().__init__(num_envs, options)
        self._expected = np.zeros((num_envs, self.n, 2))  # [E, N, 2] fixed at reset

    def _reset_shape(self, world: BatchedWorld, e: int, rng: np.random.Generator) -> None:
        n = self.n
        world.pos[e, :n] = rng.uniform(-1, 1, (n, 2))
        lm0 = rng.uniform(-0.25, 0.25, 2)
        # mpe2 turns the direction by 5 degrees until the far landmark is on screen.
        theta = rng.uniform(0, 2 * np.pi)
        direction = np.array([np.cos(theta), np.sin(theta)])
        loc = lm0 + self.TOTAL_SEP * direction
        while not (abs(loc[0]) < 1.0 and abs(loc[1]) < 1.0):
            theta += np.radians(5)
            direction = np.array([np.cos(theta), np.sin(theta)])
            loc = lm0 + self.TOTAL_SEP * direction
        world.pos[e, n] = lm0
        world.pos[e, n + 1] = loc
        sep = self.TOTAL_SEP / (n - 1) if n > 1 else 0.0
        self._expected[e] = [lm0 + i * sep * direction for i in range(n)]

    def _targets(self, world: BatchedWorld) -> np.ndarray:
        return self._expected

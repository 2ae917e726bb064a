"""The mpe2 scenarios with physical contact: simple_spread, simple_tag and
simple_world_comm, batched.

Each class mirrors the ``Scenario`` of the mpe2 module it names, including
its curriculum, ``terminate_on_success`` and partial-observability options
where mpe2 has them.
"""

from __future__ import annotations

from typing import Any, List, Mapping

import numpy as np

from tf_maddpg.envs.batched_mpe.scenario import (BatchedScenario, bound_penalty, check_count,
                                                 check_local_ratio, check_neighbors, gather_slots,
                                                 nearest_order, others_index, relative_to_agents,
                                                 split_agents)
from tf_maddpg.envs.batched_mpe.world import AgentSpec, BatchedWorld, LandmarkSpec


def _other_agents(world: BatchedWorld, rel: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Other agents' positions relative to each agent.

    Args:
      world: the batched world.
      rel: ``[E, N, N + L, 2]`` from ``relative_to_agents``.
      others: ``[N, N - 1]`` from ``others_index``.

    Returns:
      ``[E, N, N - 1, 2]``.
    """
    n = world.num_agents
    return rel[:, np.arange(n)[:, None], others]


class SimpleSpread(BatchedScenario):
    """``mpe2.simple_spread_v3``: N agents cover N landmarks without colliding."""

    module = "simple_spread_v3"
    OPTIONS = {"N": 3, "local_ratio": 0.5, "curriculum": False, "terminate_on_success": False,
               "num_agent_neighbors": None, "num_landmark_neighbors": None}
    # mpe2's stages: 0 without the collision penalty, 1 with it. The stage stays
    # 0 (see ``BatchedScenario.set_curriculum_stage``): curriculum=True means no
    # collision penalty.
    CURRICULUM_STAGES = [{"collision_penalty": False}, {"collision_penalty": True}]
    CAPTURE_RADIUS = 0.1

    def __init__(self, num_envs: int, options: Mapping[str, Any]) -> None:
        super().__init__(num_envs, options)
        self.n = check_count(self.options["N"], "N", self.module, minimum=1)
        self.local_ratio = check_local_ratio(self.options["local_ratio"], self.module)
        check_neighbors(self.options, self.module)
        self.curriculum = bool(self.options["curriculum"])
        self.terminate_on_success = bool(self.options["terminate_on_success"])

    def make_world(self) -> BatchedWorld:
        """See ``BatchedScenario.make_world``."""
        n = self.n
        agents = [AgentSpec(f"agent_{i}", size=0.15, silent=True) for i in range(n)]
        landmarks = [LandmarkSpec(f"landmark {i}", collide=False) for i in range(n)]
        self._others = others_index(n)
        self._offdiag = ~np.eye(n, dtype=bool)
        self._collide_dist = 2 * 0.15  # agent.size + agent.size
        return BatchedWorld(self.num_envs, agents, landmarks, dim_c=2)

    def reset_env(self, world: BatchedWorld, e: int, rng: np.random.Generator) -> None:
        """See ``BatchedScenario.reset_env``."""
        world.pos[e] = rng.uniform(-1, +1, (world.num_entities, 2))

    def observations(self, world: BatchedWorld) -> List[np.ndarray]:
        """See ``BatchedScenario.observations``."""
        n = self.n
        rel = relative_to_agents(world)  # [E, N, 2N, 2]
        rel_lm = rel[:, :, n:]  # [E, N, N, 2]
        rel_oth = _other_agents(world, rel, self._others)  # [E, N, N-1, 2]
        comm_oth = world.comm[:, self._others]  # [E, N, N-1, dim_c]
        lm = gather_slots(rel_lm, *nearest_order(rel_lm, self.options["num_landmark_neighbors"]))
        order, pad = nearest_order(rel_oth, self.options["num_agent_neighbors"])
        block = np.concatenate([world.vel, world.pos[:, :n], lm, gather_slots(rel_oth, order, pad),
                                gather_slots(comm_oth, order, pad)], axis=2)
        return split_agents(block)

    def _agent_lm_dist(self, world: BatchedWorld) -> np.ndarray:
        return world.distances()[:, :, self.n:]  # [E, N agents, N landmarks]

    def agent_rewards(self, world: BatchedWorld) -> np.ndarray:
        """See ``BatchedScenario.agent_rewards``."""
        penalty = (not self.curriculum) or self.CURRICULUM_STAGES[self.curriculum_stage][
            "collision_penalty"]
        if not penalty:
            return np.zeros((self.num_envs, self.n))
        d = world.distances()[:, :, :self.n]  # [E, N, N]
        hits = (d < self._collide_dist) & self._offdiag
        return -hits.sum(axis=2).astype(np.float64)

    def global_reward(self, world: BatchedWorld) -> np.ndarray:
        """See ``BatchedScenario.global_reward``."""
        # mpe2 subtracts each landmark's closest-agent distance in landmark order.
        closest = np.min(self._agent_lm_dist(world), axis=1)  # [E, L]
        rew = np.zeros(self.num_envs)
        for j in range(closest.shape[1]):
            rew -= closest[:, j]
        return rew

    def is_terminal(self, world: BatchedWorld):
        """See ``BatchedScenario.is_terminal``."""
        if not self.terminate_on_success:
            return None
        closest = np.min(self._agent_lm_dist(world), axis=1)  # [E, L]
        return np.all(closest < self.CAPTURE_RADIUS, axis=1)


class SimpleTag(BatchedScenario):
    """``mpe2.simple_tag_v3``: adversaries chase good agents among obstacles."""

    module = "simple_tag_v3"
    OPTIONS = {"num_good": 1, "num_adversaries": 3, "num_obstacles": 2, "curriculum": False,
               "terminate_on_success": False, "num_agent_neighbors": None,
               "num_landmark_neighbors": None}
    # mpe2's prey speed stages, applied at reset. The stage stays 0 (see
    # ``BatchedScenario.set_curriculum_stage``): curriculum=True means prey at half speed.
    CURRICULUM_STAGES = [{"prey_speed_factor": 0.5}, {"prey_speed_factor": 0.75},
                         {"prey_speed_factor": 1.0}]
    _PREY_BASE_MAX_SPEED = 1.3
    _PREY_BASE_ACCEL = 4.0

    def __init__(self, num_envs: int, options: Mapping[str, Any]) -> None:
        super().__init__(num_envs, options)
        self.n_good = check_count(self.options["num_good"], "num_good", self.module)
        self.n_adv = check_count(self.options["num_adversaries"], "num_adversaries", self.module)
        if self.n_good + self.n_adv < 1:
            raise ValueError(f"{self.module}: needs at least one agent")
        self.n_obst = check_count(self.options["num_obstacles"], "num_obstacles", self.module)
        check_neighbors(self.options, self.module)
        self.curriculum = bool(self.options["curriculum"])
        self.terminate_on_success = bool(self.options["terminate_on_success"])

    def make_world(self) -> BatchedWorld:
        """See ``BatchedScenario.make_world``."""
        agents = []
        for i in range(self.n_adv + self.n_good):
            adv = i < self.n_adv
            agents.append(AgentSpec(f"adversary_{i}" if adv else f"agent_{i - self.n_adv}",
                                    size=0.075 if adv else 0.05, silent=True,
                                    accel=3.0 if adv else 4.0, max_speed=1.0 if adv else 1.3))
        landmarks = [LandmarkSpec(f"landmark {i}", size=0.2) for i in range(self.n_obst)]
        n = len(agents)
        self._others = others_index(n)
        self._adversary = np.arange(n) < self.n_adv  # [N]
        # Velocity slots: mpe2 shows only good agents' velocities.
        self._good_others = [np.array([j for j in range(n) if j != i and not self._adversary[j]],
                                      dtype=np.intp) for i in range(n)]
        sizes = np.array([a.size for a in agents])
        self._collide_dist = sizes[:self.n_adv, None] + sizes[None, self.n_adv:]  # [adv, good]
        return BatchedWorld(self.num_envs, agents, landmarks, dim_c=2)

    def reset_env(self, world: BatchedWorld, e: int, rng: np.random.Generator) -> None:
        """See ``BatchedScenario.reset_env``."""
        n = world.num_agents
        world.pos[e, :n] = rng.uniform(-1, +1, (n, 2))
        world.pos[e, n:] = rng.uniform(-0.9, +0.9, (self.n_obst, 2))
        if self.curriculum:
            factor = self.CURRICULUM_STAGES[self.curriculum_stage]["prey_speed_factor"]
            world.max_speed[e, self.n_adv:] = self._PREY_BASE_MAX_SPEED * factor
            world.accel[e, self.n_adv:] = self._PREY_BASE_ACCEL * factor

    def observations(self, world: BatchedWorld) -> List[np.ndarray]:
        """See ``BatchedScenario.observations``."""
        n = world.num_agents
        rel = relative_to_agents(world)  # [E, N, N + L, 2]
        rel_lm = rel[:, :, n:]
        lm = gather_slots(rel_lm, *nearest_order(rel_lm, self.options["num_landmark_neighbors"]))
        rel_oth = _other_agents(world, rel, self._others)  # [E, N, N-1, 2]
        k = self.options["num_agent_neighbors"]
        if k is None:
            oth = rel_oth.reshape(self.num_envs, n, -1)
            vel = [world.vel[:, idx].reshape(self.num_envs, -1) for idx in self._good_others]
            return [np.concatenate([world.vel[:, i], world.pos[:, i], lm[:, i], oth[:, i], vel[i]],
                                   axis=1) for i in range(n)]
        order, pad = nearest_order(rel_oth, k)
        # Velocity of each neighbour slot; zeros for adversaries (mpe2's predicate).
        vel_oth = world.vel[:, self._others]  # [E, N, N-1, 2]
        vel_oth = np.where(self._adversary[self._others][None, :, :, None], 0.0, vel_oth)
        block = np.concatenate([world.vel, world.pos[:, :n], lm, gather_slots(rel_oth, order, pad),
                                gather_slots(vel_oth, order, pad)], axis=2)
        return split_agents(block)

    def _caught(self, world: BatchedWorld) -> np.ndarray:
        a = self.n_adv
        d = world.distances()[:, :a, a:world.num_agents]  # [E, adv, good]
        return d < self._collide_dist

    def agent_rewards(self, world: BatchedWorld) -> np.ndarray:
        """See ``BatchedScenario.agent_rewards``."""
        a, n = self.n_adv, world.num_agents
        caught = self._caught(world)  # [E, adv, good]
        out = np.empty((self.num_envs, n))
        out[:, :a] = (10 * caught.sum(axis=(1, 2)))[:, None].astype(np.float64)
        good = -10.0 * caught.sum(axis=1)  # [E, good]
        x = np.abs(world.pos[:, a:n])  # [E, good, 2]
        pen = bound_penalty(x)
        out[:, a:] = good - pen[..., 0] - pen[..., 1]
        return out

    def is_terminal(self, world: BatchedWorld):
        """See ``BatchedScenario.is_terminal``."""
        if not self.terminate_on_success:
            return None
        return np.all(np.any(self._caught(world), axis=1), axis=1)


class SimpleWorldComm(BatchedScenario):
    """``mpe2.simple_world_comm_v3``: a leader adversary that talks, adversaries,
    good agents, obstacles, food and forests that hide agents."""

    module = "simple_world_comm_v3"
    OPTIONS = {"num_good": 2, "num_adversaries": 4, "num_obstacles": 1, "num_food": 2,
               "num_forests": 2}

    def __init__(self, num_envs: int, options: Mapping[str, Any]) -> None:
        super().__init__(num_envs, options)
        o = self.options
        self.n_good = check_count(o["num_good"], "num_good", self.module, minimum=1)
        self.n_adv = check_count(o["num_adversaries"], "num_adversaries", self.module, minimum=1)
        self.n_obst = check_count(o["num_obstacles"], "num_obstacles", self.module)
        self.n_food = check_count(o["num_food"], "num_food", self.module, minimum=1)
        self.n_forest = check_count(o["num_forests"], "num_forests", self.module)

    def make_world(self) -> BatchedWorld:
        """See ``BatchedScenario.make_world``."""
        a, g = self.n_adv, self.n_good
        agents = []
        for i in range(a + g):
            adv = i < a
            index = max(i - 1, 0) if adv else i - a
            name = "leadadversary" if i == 0 else ("adversary" if adv else "agent")
            agents.append(AgentSpec(f"{name}_{index}", size=0.075 if adv else 0.045,
                                    silent=i > 0, accel=3.0 if adv else 4.0,
                                    max_speed=1.0 if adv else 1.3))
        landmarks = [LandmarkSpec(f"landmark {i}", size=0.2) for i in range(self.n_obst)]
        landmarks += [LandmarkSpec(f"food {i}", size=0.03, collide=False)
                      for i in range(self.n_food)]
        landmarks += [LandmarkSpec(f"forest {i}", size=0.3, collide=False)
                      for i in range(self.n_forest)]
        n = a + g
        self._others = others_index(n)
        self._adversary = np.arange(n) < a
        self._good_others = [np.array([j for j in range(n) if j != i and j >= a], dtype=np.intp)
                             for i in range(n)]
        sizes = np.array([s.size for s in agents])
        self._adv_good_dist = sizes[:a, None] + sizes[None, a:]  # [adv, good]
        self._food_dist = sizes[a:, None] + 0.03  # [good, 1]
        self._forest_dist = sizes[:, None] + 0.3  # [N, 1]
        food0 = n + self.n_obst
        self._food = slice(food0, food0 + self.n_food)
        self._forest = slice(food0 + self.n_food, food0 + self.n_food + self.n_forest)
        return BatchedWorld(self.num_envs, agents, landmarks, dim_c=4)

    def reset_env(self, world: BatchedWorld, e: int, rng: np.random.Generator) -> None:
        """See ``BatchedScenario.reset_env``."""
        n, nl = world.num_agents, world.num_landmarks
        world.pos[e, :n] = rng.uniform(-1, +1, (n, 2))
        # mpe2 places every landmark (food and forests included), then places
        # the food and the forests again: the later draws win.
        draws = rng.uniform(-0.9, +0.9, (nl + self.n_food + self.n_forest, 2))
        world.pos[e, n:n + self.n_obst] = draws[:self.n_obst]
        world.pos[e, n + self.n_obst:] = draws[nl:]

    def observations(self, world: BatchedWorld) -> List[np.ndarray]:
        """See ``BatchedScenario.observations``."""
        e, n = self.num_envs, world.num_agents
        rel = relative_to_agents(world)  # [E, N, N + L, 2]
        lm = rel[:, :, n:].reshape(e, n, -1)
        in_forest = world.distances()[:, :, self._forest] < self._forest_dist  # [E, N, F]
        # Who sees whom: both in one forest, or neither in any, or the leader looks.
        both = np.any(in_forest[:, :, None, :] & in_forest[:, None, :, :], axis=3)  # [E, N, N]
        outside = ~np.any(in_forest, axis=2)  # [E, N]
        visible = both | (outside[:, :, None] & outside[:, None, :])
        visible[:, 0] = True  # the leader
        rel_agents = rel[:, :, :n]  # [E, N, N, 2]
        rel_vis = np.where(visible[..., None], rel_agents, 0.0)
        vel_vis = np.where(visible[..., None], world.vel[:, None], 0.0)  # [E, N, N, 2]
        forest_flag = np.where(in_forest, 1.0, -1.0)  # [E, N, F]
        leader_comm = world.comm[:, 0]
        obs = []
        for i in range(n):
            own = [world.vel[:, i], world.pos[:, i], lm[:, i],
                   rel_vis[:, i, self._others[i]].reshape(e, -1)]
            vel = vel_vis[:, i, self._good_others[i]].reshape(e, -1)
            if self._adversary[i]:
                obs.append(np.concatenate(own + [vel, forest_flag[:, i], leader_comm], axis=1))
            else:
                obs.append(np.concatenate(own + [forest_flag[:, i], vel], axis=1))
        return obs

    def agent_rewards(self, world: BatchedWorld) -> np.ndarray:
        """See ``BatchedScenario.agent_rewards``."""
        a, n = self.n_adv, world.num_agents
        good_pos = world.pos[:, a:n]
        dist = world.distances()  # [E, N, N + L]
        d = dist[:, :a, a:n]  # [E, adv, good]
        caught = d < self._adv_good_dist
        out = np.empty((self.num_envs, n))
        # Adversaries: -0.1 * distance to the closest good agent, +5 per catch anywhere.
        out[:, :a] = -0.1 * np.min(d, axis=2) + (5 * caught.sum(axis=(1, 2)))[:, None]
        # Good agents: -5 per catcher, -2 * bound per coordinate, +2 per food
        # touched, -0.05 * distance to the closest food.
        rew = -5.0 * caught.sum(axis=1)  # [E, good]
        pen = bound_penalty(np.abs(good_pos))  # [E, good, 2]
        rew = rew - 2 * pen[..., 0] - 2 * pen[..., 1]
        food_d = dist[:, a:n, self._food]  # [E, good, food]
        rew = rew + 2 * (food_d < self._food_dist).sum(axis=2)
        out[:, a:] = rew - 0.05 * np.min(food_d, axis=2)
        return out

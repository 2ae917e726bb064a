"""The small mpe2 scenarios: simple, simple_adversary, simple_crypto,
simple_push, simple_reference and simple_speaker_listener, batched.

Each class mirrors the ``Scenario`` of the mpe2 module it names; comments
point out where the batched form needs care to give mpe2's numbers.
"""

from __future__ import annotations

from typing import Any, List, Mapping

import numpy as np

from tf_maddpg.envs.batched_mpe.scenario import (BatchedScenario, check_count, check_local_ratio,
                                                 check_neighbors, gather_slots, nearest_order,
                                                 others_index, relative_to_agents, split_agents)
from tf_maddpg.envs.batched_mpe.world import AgentSpec, BatchedWorld, LandmarkSpec, norm2


class Simple(BatchedScenario):
    """``mpe2.simple_v3``: one agent, one landmark, reward ``-dist^2``."""

    module = "simple_v3"

    def make_world(self) -> BatchedWorld:
        """See ``BatchedScenario.make_world``."""
        return BatchedWorld(self.num_envs, [AgentSpec("agent_0", collide=False, silent=True)],
                            [LandmarkSpec("landmark 0", collide=False)], dim_c=0)

    def reset_env(self, world: BatchedWorld, e: int, rng: np.random.Generator) -> None:
        """See ``BatchedScenario.reset_env``."""
        # Agent then landmark, one uniform(-1, 1, 2) each: one call draws the same values.
        world.pos[e] = rng.uniform(-1, +1, (2, 2))

    def observations(self, world: BatchedWorld) -> List[np.ndarray]:
        """See ``BatchedScenario.observations``."""
        return [np.concatenate([world.vel[:, 0], world.pos[:, 1] - world.pos[:, 0]], axis=1)]

    def agent_rewards(self, world: BatchedWorld) -> np.ndarray:
        """See ``BatchedScenario.agent_rewards``."""
        d = world.pos[:, 0] - world.pos[:, 1]  # [E, 2]
        return -(np.square(d[:, 0]) + np.square(d[:, 1]))[:, None]


class SimpleAdversary(BatchedScenario):
    """``mpe2.simple_adversary_v3``: one adversary, N good agents, N landmarks,
    one of them the goal. Supports mpe2's partial observability options."""

    module = "simple_adversary_v3"
    OPTIONS = {"N": 2, "num_agent_neighbors": None, "num_landmark_neighbors": None}

    def __init__(self, num_envs: int, options: Mapping[str, Any]) -> None:
        super().__init__(num_envs, options)
        self.n_good = check_count(self.options["N"], "N", self.module, minimum=1)
        check_neighbors(self.options, self.module)
        self.goal = np.zeros(num_envs, dtype=np.intp)  # [E] goal landmark

    def make_world(self) -> BatchedWorld:
        """See ``BatchedScenario.make_world``."""
        n = self.n_good
        agents = [AgentSpec("adversary_0", size=0.15, collide=False, silent=True)]
        agents += [AgentSpec(f"agent_{i}", size=0.15, collide=False, silent=True)
                   for i in range(n)]
        landmarks = [LandmarkSpec(f"landmark {i}", size=0.08, collide=False) for i in range(n)]
        self._others = others_index(n + 1)
        return BatchedWorld(self.num_envs, agents, landmarks, dim_c=2)

    def reset_env(self, world: BatchedWorld, e: int, rng: np.random.Generator) -> None:
        """See ``BatchedScenario.reset_env``."""
        self.goal[e] = int(rng.integers(self.n_good))
        world.pos[e] = rng.uniform(-1, +1, (world.num_entities, 2))

    def observations(self, world: BatchedWorld) -> List[np.ndarray]:
        """See ``BatchedScenario.observations``."""
        a = world.num_agents
        rel = relative_to_agents(world)  # [E, A, A + L, 2]
        rel_lm = rel[:, :, a:]  # [E, A, L, 2]
        rel_oth = rel[:, np.arange(a)[:, None], self._others]  # [E, A, A-1, 2]
        lm = gather_slots(rel_lm, *nearest_order(rel_lm, self.options["num_landmark_neighbors"]))
        oth = gather_slots(rel_oth, *nearest_order(rel_oth, self.options["num_agent_neighbors"]))
        goal_rel = np.take_along_axis(rel_lm, self.goal[:, None, None, None], axis=2)[:, :, 0]
        block = np.concatenate([goal_rel, lm, oth], axis=2)  # [E, A, 2 + ...]
        obs = split_agents(block)
        obs[0] = block[:, 0, 2:]  # the adversary does not know the goal
        return obs

    def agent_rewards(self, world: BatchedWorld) -> np.ndarray:
        """See ``BatchedScenario.agent_rewards``."""
        a = world.num_agents
        # Every agent's distance to the goal landmark.
        d = np.take_along_axis(world.distances(), (a + self.goal)[:, None, None], axis=2)[..., 0]
        adv = d[:, 0]
        good = -np.min(d[:, 1:], axis=1) + adv
        out = np.empty((self.num_envs, a))
        out[:, 0] = -adv
        out[:, 1:] = good[:, None]
        return out


class SimpleCrypto(BatchedScenario):
    """``mpe2.simple_crypto_v3``: eve (adversary), bob (listener) and alice
    (speaker); nobody moves, the reward is about communication."""

    module = "simple_crypto_v3"

    def __init__(self, num_envs: int, options: Mapping[str, Any]) -> None:
        super().__init__(num_envs, options)
        self.goal = np.zeros(num_envs, dtype=np.intp)  # [E]
        self.key = np.zeros(num_envs, dtype=np.intp)  # [E]

    def make_world(self) -> BatchedWorld:
        """See ``BatchedScenario.make_world``."""
        agents = [AgentSpec(name, movable=False, collide=False)
                  for name in ("eve_0", "bob_0", "alice_0")]
        landmarks = [LandmarkSpec(f"landmark {i}", collide=False) for i in range(2)]
        world = BatchedWorld(self.num_envs, agents, landmarks, dim_c=4)
        # Landmark colours are one-hot over dim_c.
        self._colors = np.eye(world.dim_c)[:2]
        return world

    def reset_env(self, world: BatchedWorld, e: int, rng: np.random.Generator) -> None:
        """See ``BatchedScenario.reset_env``."""
        self.goal[e] = int(rng.integers(2))
        self.key[e] = int(rng.integers(2))
        world.pos[e] = rng.uniform(-1, +1, (world.num_entities, 2))

    def observations(self, world: BatchedWorld) -> List[np.ndarray]:
        """See ``BatchedScenario.observations``."""
        goal_color = self._colors[self.goal]  # [E, 4]
        key = self._colors[self.key]  # [E, 4]
        alice_c = world.comm[:, 2]  # [E, 4]
        return [alice_c.copy(), np.concatenate([key, alice_c], axis=1),
                np.concatenate([goal_color, key], axis=1)]

    def agent_rewards(self, world: BatchedWorld) -> np.ndarray:
        """See ``BatchedScenario.agent_rewards``."""
        goal_color = self._colors[self.goal]  # [E, 4]
        c = world.comm  # [E, 3, 4]
        spoke = np.any(c != 0, axis=2)  # [E, 3]: an all-zero message does not count
        err = np.sum(np.square(c - goal_color[:, None]), axis=2)  # [E, 3]
        eve = np.where(spoke[:, 0], -err[:, 0], 0.0)
        good = np.where(spoke[:, 0], err[:, 0], 0.0) + np.where(spoke[:, 1], -err[:, 1], 0.0)
        return np.stack([eve, good, good], axis=1)


class SimplePush(BatchedScenario):
    """``mpe2.simple_push_v3``: an adversary keeps a good agent off its goal."""

    module = "simple_push_v3"

    def __init__(self, num_envs: int, options: Mapping[str, Any]) -> None:
        super().__init__(num_envs, options)
        self.goal = np.zeros(num_envs, dtype=np.intp)  # [E]
        lm_colors = []
        for i in range(2):
            color = np.array([0.1, 0.1, 0.1])
            color[i + 1] += 0.8
            lm_colors.append(color)
        self._lm_colors = np.concatenate(lm_colors)  # [6]
        agent_colors = []
        for j in range(2):  # the good agent's colour for goal j
            color = np.array([0.25, 0.25, 0.25])
            color[j + 1] += 0.5
            agent_colors.append(color)
        self._agent_colors = np.array(agent_colors)  # [2, 3]

    def make_world(self) -> BatchedWorld:
        """See ``BatchedScenario.make_world``."""
        agents = [AgentSpec("adversary_0", silent=True), AgentSpec("agent_0", silent=True)]
        landmarks = [LandmarkSpec(f"landmark {i}", collide=False) for i in range(2)]
        return BatchedWorld(self.num_envs, agents, landmarks, dim_c=2)

    def reset_env(self, world: BatchedWorld, e: int, rng: np.random.Generator) -> None:
        """See ``BatchedScenario.reset_env``."""
        self.goal[e] = int(rng.integers(2))
        world.pos[e] = rng.uniform(-1, +1, (world.num_entities, 2))

    def observations(self, world: BatchedWorld) -> List[np.ndarray]:
        """See ``BatchedScenario.observations``."""
        e = self.num_envs
        rel = relative_to_agents(world)  # [E, 2, 4, 2]
        lm = rel[:, :, 2:].reshape(e, 2, 4)
        goal_rel = rel[np.arange(e), 1, 2 + self.goal]  # [E, 2]
        adv = np.concatenate([world.vel[:, 0], lm[:, 0], rel[:, 0, 1]], axis=1)
        good = np.concatenate([world.vel[:, 1], goal_rel, self._agent_colors[self.goal], lm[:, 1],
                               np.broadcast_to(self._lm_colors, (e, 6)), rel[:, 1, 0]], axis=1)
        return [adv, good]

    def agent_rewards(self, world: BatchedWorld) -> np.ndarray:
        """See ``BatchedScenario.agent_rewards``."""
        to_goal = world.distances()[np.arange(self.num_envs), :, 2 + self.goal]  # [E, 2]
        good_dist, adv_dist = to_goal[:, 1], to_goal[:, 0]
        return np.stack([good_dist - adv_dist, -good_dist], axis=1)


_REFERENCE_COLORS = np.array([[0.75, 0.25, 0.25], [0.25, 0.75, 0.25], [0.25, 0.25, 0.75]])


class SimpleReference(BatchedScenario):
    """``mpe2.simple_reference_v3``: two agents, each telling the other which of
    three landmarks to reach."""

    module = "simple_reference_v3"
    OPTIONS = {"local_ratio": 0.5}

    def __init__(self, num_envs: int, options: Mapping[str, Any]) -> None:
        super().__init__(num_envs, options)
        self.local_ratio = check_local_ratio(self.options["local_ratio"], self.module)
        self.goal_b = np.zeros((num_envs, 2), dtype=np.intp)  # [E, 2] each agent's landmark

    def make_world(self) -> BatchedWorld:
        """See ``BatchedScenario.make_world``."""
        agents = [AgentSpec(f"agent_{i}", collide=False) for i in range(2)]
        landmarks = [LandmarkSpec(f"landmark {i}", collide=False) for i in range(3)]
        return BatchedWorld(self.num_envs, agents, landmarks, dim_c=10)

    def reset_env(self, world: BatchedWorld, e: int, rng: np.random.Generator) -> None:
        """See ``BatchedScenario.reset_env``."""
        self.goal_b[e, 0] = int(rng.integers(3))
        self.goal_b[e, 1] = int(rng.integers(3))
        world.pos[e] = rng.uniform(-1, +1, (world.num_entities, 2))

    def observations(self, world: BatchedWorld) -> List[np.ndarray]:
        """See ``BatchedScenario.observations``."""
        e = self.num_envs
        rel = relative_to_agents(world)  # [E, 2, 5, 2]
        lm = rel[:, :, 2:].reshape(e, 2, 6)
        block = np.concatenate([world.vel, lm, _REFERENCE_COLORS[self.goal_b],
                                world.comm[:, ::-1]], axis=2)  # the other agent's message
        return split_agents(block)

    def agent_rewards(self, world: BatchedWorld) -> np.ndarray:
        """See ``BatchedScenario.agent_rewards``."""
        rows = np.arange(self.num_envs)
        # Agent 0 wants agent 1 on its landmark, and agent 1 wants agent 0 on its.
        lm0 = world.pos[rows, 2 + self.goal_b[:, 0]]
        lm1 = world.pos[rows, 2 + self.goal_b[:, 1]]
        r0 = -norm2(world.pos[:, 1] - lm0)
        r1 = -norm2(world.pos[:, 0] - lm1)
        return np.stack([r0, r1], axis=1)

    def global_reward(self, world: BatchedWorld) -> np.ndarray:
        """See ``BatchedScenario.global_reward``."""
        r = self.agent_rewards(world)
        return (r[:, 0] + r[:, 1]) / 2


_LISTENER_COLORS = np.array([[0.65, 0.15, 0.15], [0.15, 0.65, 0.15], [0.15, 0.15, 0.65]])


class SimpleSpeakerListener(BatchedScenario):
    """``mpe2.simple_speaker_listener_v4``: a speaker that sees the goal
    colour, a listener that moves."""

    module = "simple_speaker_listener_v4"

    def __init__(self, num_envs: int, options: Mapping[str, Any]) -> None:
        super().__init__(num_envs, options)
        self.goal = np.zeros(num_envs, dtype=np.intp)  # [E]

    def make_world(self) -> BatchedWorld:
        """See ``BatchedScenario.make_world``."""
        agents = [AgentSpec("speaker_0", size=0.075, movable=False, collide=False),
                  AgentSpec("listener_0", size=0.075, silent=True, collide=False)]
        landmarks = [LandmarkSpec(f"landmark {i}", size=0.04, collide=False) for i in range(3)]
        return BatchedWorld(self.num_envs, agents, landmarks, dim_c=3)

    def reset_env(self, world: BatchedWorld, e: int, rng: np.random.Generator) -> None:
        """See ``BatchedScenario.reset_env``."""
        self.goal[e] = int(rng.integers(3))
        world.pos[e] = rng.uniform(-1, +1, (world.num_entities, 2))

    def observations(self, world: BatchedWorld) -> List[np.ndarray]:
        """See ``BatchedScenario.observations``."""
        e = self.num_envs
        lm = (world.pos[:, 2:] - world.pos[:, 1:2]).reshape(e, 6)
        listener = np.concatenate([world.vel[:, 1], lm, world.comm[:, 0]], axis=1)
        return [_LISTENER_COLORS[self.goal], listener]

    def agent_rewards(self, world: BatchedWorld) -> np.ndarray:
        """See ``BatchedScenario.agent_rewards``."""
        goal_pos = world.pos[np.arange(self.num_envs), 2 + self.goal]
        d = world.pos[:, 1] - goal_pos
        r = -(np.square(d[:, 0]) + np.square(d[:, 1]))
        return np.stack([r, r], axis=1)

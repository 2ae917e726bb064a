"""Gym-style environments (spaces indexed by agent, lists in and out) through the adapter."""

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

import tf_maddpg
from tf_maddpg import EnvAdapter, MADDPGConfig
from tf_maddpg.envs.gym_tuple import TupleParallelEnv, is_tuple_env
from tf_maddpg.envs.toy import RendezvousEnv


class ListEnv:
    """Old Gym style: lists of spaces, reset returns the observations alone, step returns
    four values, one shared reward, and agent 1 is done after two steps."""

    def __init__(self):
        self.observation_space = [spaces.Box(-9, 9, (2,), np.float32),
                                  spaces.Box(-9, 9, (3,), np.float32)]
        self.action_space = [spaces.Discrete(3), spaces.Box(-1, 1, (1,), np.float32)]
        self.t = 0
        self.received = []

    def reset(self, seed=None):
        self.t = 0
        return [np.zeros(2, np.float32), np.ones(3, np.float32)]

    def step(self, actions):
        self.received.append(actions)
        self.t += 1
        obs = [np.full(2, self.t, np.float32), np.full(3, -self.t, np.float32)]
        return obs, 1.5, [self.t >= 4, self.t >= 2], {"t": self.t}


def test_a_tuple_env_is_adapted_with_agents_named_by_index():
    env = EnvAdapter(RendezvousEnv(num_agents=3))
    assert isinstance(env.env, TupleParallelEnv)
    assert env.agents == ("agent_0", "agent_1", "agent_2")
    assert [(s.obs_dim, s.action_dim, s.discrete) for s in env.specs] == [(8, 5, True)] * 3
    obs = env.reset(seed=0)
    assert [o.shape for o in obs] == [(8,)] * 3
    step = env.step([0, 1, 2])
    assert len(step.rewards) == 3 and step.truncated == [False] * 3


def test_the_same_seed_gives_the_same_episode():
    first, second = EnvAdapter(RendezvousEnv()), EnvAdapter(RendezvousEnv())
    np.testing.assert_array_equal(first.reset_packed(seed=4), second.reset_packed(seed=4))
    action = np.eye(5, dtype=np.float32)[[2, 4]].reshape(-1)
    np.testing.assert_array_equal(first.step_packed(action).obs, second.step_packed(action).obs)


def test_old_gym_style_lists_shared_rewards_and_agents_that_leave():
    raw = ListEnv()
    assert is_tuple_env(raw) and not is_tuple_env(object())
    env = EnvAdapter(raw)
    assert env.agents == ("agent_0", "agent_1")
    assert [s.discrete for s in env.specs] == [True, False]
    env.reset()
    step = env.step([2, [0.5]])
    assert step.rewards == [1.5, 1.5]  # one number: every agent's reward
    assert raw.received[-1][0] == 2 and raw.received[-1][1] == pytest.approx([0.5])
    step = env.step([1, [0.2]])  # agent_1 is done now
    assert step.terminated == [False, True] and env.alive == [True, False]
    env.step([0, None])
    assert raw.received[-1][1] is None  # a gone agent's slot is None
    step = env.step([0, None])
    assert step.terminated == [True, True] and env.done


def test_mismatched_spaces_and_wrong_lengths_are_explained():
    bad = ListEnv()
    bad.action_space = bad.action_space[:1]
    with pytest.raises(ValueError, match="2 observation spaces but 1 action spaces"):
        EnvAdapter(bad)
    short = ListEnv()
    short.reset = lambda seed=None: [np.zeros(2, np.float32)]
    with pytest.raises(ValueError, match="observations with 1 entries; expected one per agent"):
        EnvAdapter(short).reset()
    with pytest.raises(TypeError, match="Gymnasium env with Tuple observation and action"):
        EnvAdapter(gymnasium.make("CartPole-v1"))


def test_a_few_episodes_train_through_the_public_api():
    config = MADDPGConfig(num_episodes=6, episode_length=10, eval_interval=3, eval_episodes=2,
                          batch_size=16, buffer_size=200, minimal_size=16, update_interval=10,
                          hidden_sizes=(8,), seed=3)
    result = tf_maddpg.train(config, lambda: RendezvousEnv(), verbose=False)
    assert result.episodes == 6 and result.env_steps == 60 and result.num_updates > 0
    assert [row["episode"] for row in result.history] == [3, 6]
    assert {"return/agent_0", "return/agent_1"} <= set(result.history[-1])


def test_continuous_actions_train_too():
    config = MADDPGConfig(num_episodes=2, episode_length=8, eval_interval=2, eval_episodes=1,
                          batch_size=8, buffer_size=100, minimal_size=8, update_interval=4,
                          hidden_sizes=(8,))
    result = tf_maddpg.train(config, lambda: RendezvousEnv(continuous=True), verbose=False)
    assert result.num_updates > 0 and np.isfinite(result.history[-1]["return/agent_1"])

"""The PettingZoo adapter: fixed order, dict <-> list, early-leaving agents, action kinds."""

import numpy as np
import pytest
from mpe2 import simple_adversary_v3, simple_spread_v3

from tf_maddpg import EnvAdapter, make_env
from tf_maddpg.envs import known_scenarios
from toy_envs import LeavingEnv


def test_order_is_possible_agents_and_specs_follow_spaces():
    env = EnvAdapter(LeavingEnv())
    assert env.agents == ("walker", "runner", "pointer")
    assert [(s.obs_dim, s.action_dim, s.discrete) for s in env.specs] == [
        (3, 3, True), (4, 2, False), (2, 4, True)]
    assert env.specs[1].low == (-1.0, -1.0) and env.specs[1].high == (1.0, 1.0)


def test_reset_gives_observations_in_agent_order():
    env = EnvAdapter(LeavingEnv())
    obs = env.reset(seed=3)
    assert [o.shape for o in obs] == [(3,), (4,), (2,)]
    np.testing.assert_allclose([o[0] for o in obs], [0.0, 0.1, 0.2], rtol=1e-6)
    assert all(o.dtype == np.float32 for o in obs)
    assert env.alive == [True, True, True] and not env.done


def test_step_maps_list_actions_to_the_right_agents_in_every_accepted_form():
    env = EnvAdapter(LeavingEnv())
    env.reset()
    # walker: an int; runner: a Box vector (clipped to [-1, 1]); pointer: a one-hot.
    step = env.step([2, np.array([0.25, 3.0]), np.array([0, 0, 0, 1.0])])
    assert step.rewards == [2.0, 1.25, 30.0]
    # probability vectors act by their argmax; numpy ints are fine too.
    step = env.step([np.array([0.2, 0.5, 0.3]), [-5.0, -5.0], np.int64(1)])
    assert step.rewards[0] == 1.0 and step.rewards[2] == 10.0
    assert step.rewards[1] == -2.0  # [-5, -5] clipped to [-1, -1]


def test_dict_and_list_round_trip():
    env = EnvAdapter(LeavingEnv())
    env.reset()
    values = {"pointer": "p", "walker": "w", "runner": "r"}
    as_list = env.to_list(values)
    assert as_list == ["w", "r", "p"]
    assert env.to_dict(as_list) == values
    assert env.to_list({"walker": 1}, fill=0) == [1, 0, 0]


def test_an_agent_that_leaves_is_padded_and_marked_not_alive():
    env = EnvAdapter(LeavingEnv(leave_at=2, max_steps=5))
    env.reset()
    env.step([0, [0.0, 0.0], 0])
    step = env.step([0, [0.5, 0.5], 0])            # runner terminates on this step
    assert step.terminated == [False, True, False]
    assert step.rewards[1] == 1.0                   # its last reward still arrives
    assert step.obs[1][0] == pytest.approx(2.1)     # and its final observation
    assert env.alive == [True, False, True] and not env.done
    assert env.to_dict([1, 2, 3], only_alive=True) == {"walker": 1, "pointer": 3}

    step = env.step([1, [0.9, 0.9], 1])             # runner's action is ignored, no crash
    np.testing.assert_array_equal(step.obs[1], np.zeros(4, np.float32))
    assert step.rewards == [1.0, 0.0, 10.0]
    assert step.terminated == [False, True, False]  # gone agents read as terminated
    assert step.truncated == [False, False, False]

    env.step([0, None, 0])
    step = env.step([0, None, 0])                   # step 5: time limit
    assert step.truncated == [True, False, True]
    assert step.terminated == [False, True, False]
    assert env.done
    with pytest.raises(RuntimeError, match="reset"):
        env.step([0, None, 0])


def test_bad_actions_say_what_is_wrong():
    env = EnvAdapter(LeavingEnv())
    env.reset()
    with pytest.raises(ValueError, match="3 actions"):
        env.step([0, [0.0, 0.0]])
    with pytest.raises(ValueError, match="outside Discrete"):
        env.step([7, [0.0, 0.0], 0])
    with pytest.raises(ValueError, match="vector of 3"):
        env.step([[1.0, 0.0], [0.0, 0.0], 0])
    with pytest.raises(ValueError, match="needs 2 values"):
        env.step([0, [0.0, 0.0, 0.0], 0])


def test_mpe2_parallel_and_aec_envs_both_work():
    for raw in (simple_adversary_v3.parallel_env(max_cycles=3), simple_adversary_v3.env(max_cycles=3)):
        env = EnvAdapter(raw)
        assert env.agents == ("adversary_0", "agent_0", "agent_1")
        obs = env.reset(seed=0)
        assert [o.shape for o in obs] == [(8,), (10,), (10,)]
        steps = 0
        while not env.done:
            step = env.step([0, 1, 2])
            steps += 1
        assert steps == 3
        assert step.truncated == [True] * 3 and step.terminated == [False] * 3
        assert step.rewards[1] == step.rewards[2]  # the good agents share a reward


def test_continuous_mpe2_actions_are_clipped_box_actions():
    env = EnvAdapter(simple_spread_v3.parallel_env(max_cycles=2, continuous_actions=True))
    assert all(not s.discrete and s.low == (0.0,) * 5 and s.high == (1.0,) * 5 for s in env.specs)
    env.reset(seed=1)
    env.step([np.full(5, 2.0), np.full(5, -1.0), np.full(5, 0.5)])  # out of bounds: clipped


def test_make_env_knows_the_mpe2_scenarios_and_rejects_others():
    assert {"simple_adversary_v3", "simple_spread_v3", "simple_tag_v3"} <= set(known_scenarios())
    assert make_env("mpe2.simple_v3").agents == ("agent_0",)
    with pytest.raises(ValueError, match="unknown scenario 'simple_adversery_v3'.*simple_adversary_v3"):
        make_env("simple_adversery_v3")


def test_non_pettingzoo_objects_are_refused():
    with pytest.raises(TypeError, match="ParallelEnv or AECEnv"):
        EnvAdapter(object())


@pytest.mark.parametrize("backend", ["batched", "mpe2"])
def test_max_cycles_as_a_scenario_option_is_refused_naming_the_episode_length(backend):
    from tf_maddpg.envs.sources import build_vec_env

    with pytest.raises(ValueError, match=r"max_cycles=5 is not a scenario option here: .* "
                                         r"episode_length \(--episode-length\)"):
        build_vec_env("simple_spread_v3", 25, {"max_cycles": 5}, num_envs=2, backend=backend)

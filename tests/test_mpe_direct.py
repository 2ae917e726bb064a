"""DirectParallelEnv gives exactly what mpe2's parallel_env gives, on every scenario."""

import importlib

import numpy as np
import pytest

from tf_maddpg.envs import known_scenarios, make_env
from tf_maddpg.envs.mpe_direct import DirectParallelEnv

CASES = [(name, continuous) for name in known_scenarios() for continuous in (False, True)]


def random_actions(env, rng):
    actions = {}
    for agent in env.agents:
        space = env.action_space(agent)
        if hasattr(space, "n"):
            actions[agent] = int(rng.integers(space.n))
        else:  # some values outside the bounds, to be clipped alike
            actions[agent] = rng.uniform(-0.2, 1.2, space.shape).astype(np.float32)
    return actions


def play(env, seed, episodes=2, steps=10, terminal_when=None):
    """Every value a run of ``env`` returns, in order."""
    if terminal_when is not None:  # the same early end on both sides
        env.unwrapped.scenario.is_terminal = terminal_when
    rng = np.random.default_rng(seed)
    record = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        record.append(("reset", obs, list(env.agents)))
        while env.agents:
            out = env.step(random_actions(env, rng))
            record.append(("step",) + out[:4] + (list(env.agents),))
    return record


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert type(x) is type(y) or (isinstance(x, dict) and isinstance(y, dict))
        if isinstance(x, dict):
            assert list(x) == list(y)
            for key in x:
                assert_same([x[key]], [y[key]])
        elif isinstance(x, (list, tuple)):
            assert_same(x, y)
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)
        else:
            assert x == y


@pytest.mark.parametrize("name,continuous", CASES)
def test_direct_steps_equal_the_parallel_env(name, continuous):
    module = importlib.import_module(f"mpe2.{name}")
    kwargs = dict(max_cycles=6, continuous_actions=continuous)
    standard = play(module.parallel_env(**kwargs), seed=3)
    direct = play(DirectParallelEnv(module.raw_env(**kwargs)), seed=3)
    assert_same(standard, direct)


def test_an_early_termination_ends_both_alike():
    module = importlib.import_module("mpe2.simple_spread_v3")

    def terminal(world):  # ends the episode once agent 0 has moved right
        return bool(world.agents[0].state.p_pos[0] > world.agents[0].state.p_vel[0] * 0 + 0.2)

    standard = play(module.parallel_env(max_cycles=25), seed=0, episodes=4, terminal_when=terminal)
    direct = play(DirectParallelEnv(module.raw_env(max_cycles=25)), seed=0, episodes=4,
                  terminal_when=terminal)
    assert_same(standard, direct)
    ends = [r for r in standard if r[0] == "step" and not r[-1]]
    assert any(all(r[3].values()) for r in ends)  # some episode did terminate early...
    assert any(all(r[4].values()) for r in ends)  # ...and some ran to the time limit


def test_bad_actions_and_foreign_envs_are_refused():
    env = DirectParallelEnv(importlib.import_module("mpe2.simple_v3").raw_env())
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action 7 is not in Discrete\(5\)"):
        env.step({"agent_0": 7})
    with pytest.raises(KeyError):
        env.step({})
    with pytest.raises(TypeError, match="direct=False"):
        DirectParallelEnv(object())


def test_make_env_checks_scenario_options():
    with pytest.raises(ValueError, match="simple_adversary_v3 has no option 'n'; its options: N=2"):
        make_env("simple_adversary_v3", n=3)
    assert make_env("simple_adversary_v3", N=3).num_agents == 4
    assert isinstance(make_env("simple_v3").env, DirectParallelEnv)
    assert not isinstance(make_env("simple_v3", direct=False).env, DirectParallelEnv)

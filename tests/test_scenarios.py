"""Every mpe2 scenario trains, with discrete and with continuous actions, with both algorithms.

A few episodes each, with updates: what is checked is that nothing in the
adapter, buffer, networks, update, evaluation or export needs changing for a
scenario's agent count, mixed observation and action sizes (simple_reference's
50 actions, simple_world_comm's 20/5 and 9/5), or Box actions. Learning is
tests/test_learning.py's and docs/results/'s. The default run trains each scenario
once, with this file's algorithms or the on-policy ones (DEFAULT below);
``-m extended`` trains every case.
"""

import numpy as np
import pytest

from tf_maddpg import MADDPGConfig, MATD3Config, train
from tf_maddpg.envs import known_scenarios

TINY = dict(num_episodes=2, episode_length=5, batch_size=8, buffer_size=64, minimal_size=8,
            update_interval=2, hidden_sizes=(8,), eval_interval=2, eval_episodes=1)

# Each scenario once, the algorithms taking turns; continuous actions on four
# scenarios with different action shapes (communication included).
CASES = [(name, MADDPGConfig if k % 2 == 0 else MATD3Config, False)
         for k, name in enumerate(known_scenarios())]
CASES += [("simple_spread_v3", MADDPGConfig, True), ("simple_adversary_v3", MATD3Config, True),
          ("simple_speaker_listener_v4", MADDPGConfig, True),
          ("simple_world_comm_v3", MATD3Config, True)]
# The default run trains every scenario once with one family or another (this file's,
# test_on_policy.py's test_every_scenario_trains, or the value-based test below) and each
# algorithm with each kind of action; the other cases are extended.
DEFAULT = {("simple_adversary_v3", MATD3Config, True), ("simple_crypto_v3", MADDPGConfig, False),
           ("simple_push_v3", MATD3Config, False), ("simple_reference_v3", MADDPGConfig, False),
           ("simple_speaker_listener_v4", MATD3Config, False),
           ("simple_spread_v3", MADDPGConfig, True), ("simple_v3", MADDPGConfig, False)}


@pytest.mark.parametrize("name,config_class,continuous",
                         [c if c in DEFAULT else pytest.param(*c, marks=pytest.mark.extended)
                          for c in CASES],
                         ids=[f"{n}-{c.algo}-{'box' if b else 'discrete'}" for n, c, b in CASES])
def test_the_scenario_trains(name, config_class, continuous):
    result = train(config_class(**TINY), name, env_kwargs={"continuous_actions": continuous},
                   verbose=False)
    assert result.num_updates > 0 and len(result.history) == 1
    row = result.history[0]
    assert all(np.isfinite(v) for v in row.values()), row
    assert all(s.discrete != continuous for s in result.learner.specs)
    obs = [np.zeros((1, s.obs_dim), np.float32) for s in result.learner.specs]
    for spec, action in zip(result.learner.specs, result.policy.act(obs)):
        assert action.shape == (1, spec.action_dim)


def test_agents_of_simple_tag_that_terminate_on_success_train():
    config = MATD3Config(**{**TINY, "episode_length": 25, "num_episodes": 4, "eval_interval": 4})
    result = train(config, "simple_tag_v3",
                   env_kwargs={"terminate_on_success": True, "num_good": 1, "num_adversaries": 3},
                   verbose=False)
    assert result.num_updates > 0 and all(np.isfinite(v) for v in result.history[0].values())


# The value-based family (Discrete actions only): a cooperative scenario with two kinds of
# agents (two shared networks, one team), 50 actions, and three agents alone.
VALUE_CASES = [("collect_treasure_v1", "qmix"), ("simple_reference_v3", "vdn"),
               ("simple_crypto_v3", "iql")]


@pytest.mark.parametrize("name,algo", VALUE_CASES, ids=[f"{n}-{a}" for n, a in VALUE_CASES])
def test_the_scenario_trains_with_the_value_based_family(name, algo):
    from tf_maddpg.algorithms.registry import ALGORITHMS

    result = train(ALGORITHMS[algo].config_class(**TINY), name, verbose=False)
    assert result.num_updates > 0 and len(result.history) == 1
    assert all(np.isfinite(v) for k, v in result.history[0].items() if "/actor/" not in k)
    obs = [np.zeros((1, s.obs_dim), np.float32) for s in result.learner.specs]
    for spec, action in zip(result.learner.specs, result.policy.act(obs)):
        assert action.shape == (1, spec.action_dim) and action.sum() == 1.0

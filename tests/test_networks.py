"""Actor and critic sizes for every mpe2 scenario of REFERENCE.md's table."""

import numpy as np
import pytest

from tf_maddpg import make_actor, make_critic, make_env

# scenario: [(agent, obs_dim, discrete actions, continuous actions)], from REFERENCE.md.
MPE2_TABLE = {
    "simple_v3": [("agent_0", 4, 5, 5)],
    "simple_adversary_v3": [("adversary_0", 8, 5, 5), ("agent_0", 10, 5, 5), ("agent_1", 10, 5, 5)],
    "simple_spread_v3": [(f"agent_{k}", 18, 5, 5) for k in range(3)],
    "simple_tag_v3": [(f"adversary_{k}", 16, 5, 5) for k in range(3)] + [("agent_0", 14, 5, 5)],
    "simple_speaker_listener_v4": [("speaker_0", 3, 3, 3), ("listener_0", 11, 5, 5)],
    "simple_push_v3": [("adversary_0", 8, 5, 5), ("agent_0", 19, 5, 5)],
    "simple_reference_v3": [("agent_0", 21, 50, 15), ("agent_1", 21, 50, 15)],
    "simple_crypto_v3": [("eve_0", 4, 4, 4), ("bob_0", 8, 4, 4), ("alice_0", 8, 4, 4)],
    "simple_world_comm_v3": [("leadadversary_0", 34, 20, 9)]
    + [(f"adversary_{k}", 34, 5, 5) for k in range(3)]
    + [("agent_0", 28, 5, 5), ("agent_1", 28, 5, 5)],
}


@pytest.mark.parametrize("continuous", [False, True], ids=["discrete", "continuous"])
@pytest.mark.parametrize("scenario", sorted(MPE2_TABLE))
def test_networks_fit_every_scenario(scenario, continuous):
    env = make_env(scenario, continuous_actions=continuous)
    table = MPE2_TABLE[scenario]
    assert [s.name for s in env.specs] == [row[0] for row in table]
    for spec, (_, obs_dim, n_discrete, n_continuous) in zip(env.specs, table):
        assert spec.obs_dim == obs_dim
        assert spec.discrete is not continuous
        assert spec.action_dim == (n_continuous if continuous else n_discrete)

    joint = sum(s.obs_dim + s.action_dim for s in env.specs)
    obs = env.reset(seed=0)
    for spec, o in zip(env.specs, obs):
        actor = make_actor(spec, (32, 32))
        assert actor.input_shape == (None, spec.obs_dim)
        assert actor.output_shape == (None, spec.action_dim)
        out = np.asarray(actor(o[None]))
        assert out.shape == (1, spec.action_dim)
        if not spec.discrete:  # tanh scaled to mpe2's Box(0, 1)
            assert np.all((out >= 0.0) & (out <= 1.0))
    critic = make_critic(env.specs, (32, 32))
    assert critic.input_shape == (None, joint)
    assert critic.output_shape == (None, 1)


def test_actor_and_critic_initialise_like_torch_linear():
    env = make_env("simple_adversary_v3")
    actor = make_actor(env.specs[0], (64, 64))
    first_kernel, first_bias = actor.get_weights()[:2]
    bound = 1 / np.sqrt(env.specs[0].obs_dim)
    assert first_kernel.shape == (8, 64)
    assert np.abs(first_kernel).max() <= bound and np.abs(first_kernel).max() > 0.9 * bound
    assert np.abs(first_bias).max() <= bound and np.abs(first_bias).max() > 0.5 * bound

"""Acting (NumPy and one compiled call) equals the Keras actors; saving and loading actors."""

import keras
import numpy as np
import pytest

from tf_maddpg import AgentSpec, MultiAgentPolicy, load_actors, make_actor, save_actors

SPECS = (AgentSpec("disc", 6, 5, True), AgentSpec("box", 4, 2, False, (-1.0, 0.0), (1.0, 3.0)))


def make_policy(**kwargs):
    keras.utils.set_random_seed(0)
    actors = [make_actor(s, (16, 16)) for s in SPECS]
    return MultiAgentPolicy(SPECS, actors, rng=0, **kwargs), actors


BACKENDS = pytest.mark.parametrize("backend", ["numpy", "graph"])


def random_obs(batch=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = lambda d: (d,) if batch is None else (batch, d)  # noqa: E731
    return [rng.normal(size=shape(s.obs_dim)).astype(np.float32) for s in SPECS]


@BACKENDS
def test_greedy_actions_are_the_keras_actors_functions(backend):
    policy, actors = make_policy(backend=backend)
    assert policy.backend == backend
    obs = random_obs(batch=256)
    disc, box = policy.act(obs, explore=False)
    logits = actors[0](obs[0]).numpy()
    np.testing.assert_array_equal(disc, np.eye(5)[np.argmax(logits, -1)])
    np.testing.assert_allclose(box, actors[1](obs[1]).numpy(), rtol=1e-5, atol=1e-6)
    packed = policy.outputs_packed(np.concatenate(obs, axis=-1))
    np.testing.assert_allclose(packed[:, :5], logits, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("batch", [64, 256])
def test_numpy_forward_follows_weight_changes_after_sync(batch):
    policy, actors = make_policy(backend="numpy")
    obs = np.concatenate(random_obs(batch=batch), axis=-1)
    before = policy.outputs_packed(obs)
    for actor in actors:
        actor.set_weights([w * 1.5 + 0.1 for w in actor.get_weights()])
    np.testing.assert_array_equal(policy.outputs_packed(obs), before)  # still the copy
    policy.sync()
    expected = np.concatenate([a(o).numpy() for a, o in zip(actors, random_obs(batch=batch))],
                              -1)
    np.testing.assert_allclose(policy.outputs_packed(obs), expected, rtol=1e-5, atol=1e-6)


def test_both_backends_explore_identically_for_the_same_seed():
    numpy_policy, _ = make_policy(backend="numpy", exploration_noise=0.5)
    graph_policy, _ = make_policy(backend="graph", exploration_noise=0.5)
    obs = random_obs(batch=128)
    for _ in range(3):
        for a, b in zip(numpy_policy.act(obs, explore=True), graph_policy.act(obs, explore=True)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


MIXED = (AgentSpec("deep", 7, 3, True), AgentSpec("shallow", 5, 50, True),
         AgentSpec("box", 4, 2, False, (0.0, 0.0), (1.0, 1.0)), AgentSpec("deep2", 3, 5, True))


def mixed_policy(**kwargs):
    """Actors of other depths and widths: 'deep', 'box' and 'deep2' share one block chain."""
    keras.utils.set_random_seed(1)
    actors = [make_actor(MIXED[0], (16, 8)), make_actor(MIXED[1], (32,)),
              make_actor(MIXED[2], (4, 4)), make_actor(MIXED[3], (16, 16))]
    return MultiAgentPolicy(MIXED, actors, rng=0, **kwargs), actors


@pytest.mark.parametrize("rows", [33, 300])  # the block chain, then each agent on its own
def test_the_block_chain_is_every_keras_actor_whatever_their_shapes(rows):
    policy, actors = mixed_policy(backend="numpy")
    assert len(policy._numpy_actors._groups) == 2
    obs = [np.random.default_rng(i).normal(size=(rows, s.obs_dim)).astype(np.float32)
           for i, s in enumerate(MIXED)]
    expected = np.concatenate([a(o).numpy() for a, o in zip(actors, obs)], axis=-1)
    np.testing.assert_allclose(policy.outputs_packed(np.concatenate(obs, -1)), expected,
                               rtol=1e-5, atol=1e-6)


def test_exploration_stays_inside_each_agents_actions():
    policy, _ = mixed_policy(epsilon=0.5)
    actions = policy.act_packed(np.zeros((4000, 19), np.float32), explore=True)
    split = np.split(actions, np.cumsum([s.action_dim for s in MIXED])[:-1], axis=-1)
    for spec, a in zip(MIXED, split):
        if spec.discrete:
            np.testing.assert_array_equal(a.sum(-1), 1.0)
            assert (a.sum(0) > 0).all()  # every action is drawn, and nothing outside them
        else:
            assert ((a >= 0) & (a <= 1)).all()


def test_actors_with_other_layers_act_through_the_graph():
    keras.utils.set_random_seed(0)
    spec = SPECS[0]
    inputs = keras.Input((spec.obs_dim,))
    actor = keras.Model(inputs, keras.layers.Dense(5)(keras.layers.LayerNormalization()(inputs)))
    assert MultiAgentPolicy((spec,), [actor]).backend == "graph"
    with pytest.raises(ValueError, match="has no NumPy forward pass"):
        MultiAgentPolicy((spec,), [actor], backend="numpy")


def test_single_observations_give_single_actions():
    policy, _ = make_policy()
    single = policy.act(random_obs(), explore=False)
    assert [a.shape for a in single] == [(5,), (2,)]
    batched = policy.act([o[None] for o in random_obs()], explore=False)
    np.testing.assert_allclose(single[1], batched[1][0], rtol=1e-6)


@BACKENDS
def test_exploring_actions_are_one_hot_or_within_the_bounds(backend):
    policy, _ = make_policy(exploration_noise=2.0, backend=backend)
    disc, box = policy.act(random_obs(batch=500), explore=True)
    np.testing.assert_array_equal(disc.sum(-1), 1.0)
    assert set(np.unique(disc)) == {0.0, 1.0}
    assert len(np.unique(np.argmax(disc, -1))) > 1
    assert np.all(box[:, 0] >= -1) and np.all(box[:, 0] <= 1)
    assert np.all(box[:, 1] >= 0) and np.all(box[:, 1] <= 3)
    greedy_box = policy.act(random_obs(batch=500), explore=False)[1]
    assert np.std(box - greedy_box) > 0.1


def test_epsilon_one_explores_uniformly():
    policy, _ = make_policy(epsilon=1.0)
    obs = [np.repeat(o[None], 5000, axis=0) for o in random_obs()]
    counts = np.bincount(np.argmax(policy.act(obs, explore=True)[0], -1), minlength=5)
    assert np.all(np.abs(counts / 5000 - 0.2) < 0.03)


def test_graph_acting_is_one_call_traced_once_whatever_the_batch_size():
    policy, _ = make_policy(backend="graph")
    for batch in (None, 1, 7, 64, None):
        policy.act(random_obs(batch=batch), explore=True)
        policy.act(random_obs(batch=batch), explore=False)
    assert policy._graph_outputs.experimental_get_tracing_count() == 1


def test_actors_round_trip_through_keras_files(tmp_path):
    policy, actors = make_policy()
    paths = save_actors(actors, SPECS, tmp_path / "actors")
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["disc.keras", "box.keras"]
    loaded = load_actors(SPECS, tmp_path / "actors")
    obs = random_obs(batch=8)
    for a, b, o in zip(actors, loaded, obs):
        np.testing.assert_allclose(a(o).numpy(), b(o).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="needs 9 -> 5"):
        load_actors((AgentSpec("disc", 9, 5, True),), tmp_path / "actors")
    with pytest.raises(FileNotFoundError, match="no saved actor for agent 'other'"):
        load_actors((AgentSpec("other", 6, 5, True),), tmp_path / "actors")

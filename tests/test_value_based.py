"""IQL, VDN and QMIX: the update against float64 NumPy, the mixer, the policy, and runs.

The exact checks (tests/numpy_value_based.py is the same update in NumPy):
  * the double-Q TD targets, on a batch with terminated transitions, agents
    that left, and truncated ones (stored as not terminated: they bootstrap);
  * VDN's sum, QMIX's mixer for known weights (one worked out by hand), with
    and without the LayerNorm of its state (``state_layer_norm``), whose gain no
    longer grows with the state, and dQ_tot/dQ_i >= 0 for random states,
    Q-values and weights;
  * the running reward statistics against EPyMARL's RunningMeanStd transcribed
    (torch.var's n - 1 divisor), per TD error over the transitions where it is alive;
  * the losses (rtol 1e-5), the clipped gradients each Adam stepped with
    (read back from its first moment) against float64 central finite
    differences (rtol 1e-3), and every network's new weights after one
    update (Q-networks, mixers, targets, the actors of shared networks) to 1e-5.
Then: the team rules, the epsilon-greedy policy and its schedule, the refusal
of Box actions, a short run of each algorithm through ``train`` and the
command line, exact resume, export and evaluate. Learning is test_learning.py's.
"""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from gymnasium import spaces

import numpy_value_based as ref
from test_learner_exact import assert_grads_close, make_batch, numpy_batch
from tf_maddpg import AgentSpec, Batch, load_exported, train
from tf_maddpg.algorithms.iql import IQLConfig
from tf_maddpg.algorithms.qmix import QMIXConfig
from tf_maddpg.algorithms.registry import ALGORITHMS
from tf_maddpg.algorithms.value_based.learner import QLearner
from tf_maddpg.algorithms.value_based.policy import EpsilonGreedyPolicy
from tf_maddpg.algorithms.teams import teams_of
from tf_maddpg.algorithms.value_based.teams import parameter_groups
from tf_maddpg.algorithms.vdn import VDNConfig
from tf_maddpg.cli import main
from tf_maddpg.networks.mixers import make_qmix_mixer
from toy_envs import LeavingEnv

B = 32

ADVERSARY_SPECS = (AgentSpec("adversary_0", 8, 5, True), AgentSpec("agent_0", 10, 5, True),
                   AgentSpec("agent_1", 10, 5, True))
SPREAD_SPECS = tuple(AgentSpec(f"agent_{i}", 12, 5, True) for i in range(3))
MIXED_SPECS = (AgentSpec("speaker_0", 3, 3, True), AgentSpec("listener_0", 11, 5, True),
               AgentSpec("mover_0", 6, 4, True))

CASES = {
    # Every agent its own network and TD error; plain TD error, no standardisation or clipping.
    "iql": (ADVERSARY_SPECS, IQLConfig(share_parameters=False, standardise_rewards=False,
                                       max_grad_norm=None)),
    # One network for three agents (an id one-hot each), standardised rewards, a clip that bites.
    "iql_shared": (SPREAD_SPECS, IQLConfig(max_grad_norm=0.05)),
    # Two teams by name (adversary_0 alone; agent_0 and agent_1 share a network), the mean reward.
    "vdn": (ADVERSARY_SPECS, VDNConfig(teams="by_name", team_reward="mean", max_grad_norm=0.5)),
    # QMIX with the same two teams, a mixer each.
    "qmix": (ADVERSARY_SPECS, QMIXConfig(teams="by_name", mixing_embed_dim=4, hypernet_hidden=6,
                                         max_grad_norm=0.5)),
    # One team of agents of different sizes; no double Q; soft target updates every update.
    "qmix_soft": (MIXED_SPECS, QMIXConfig(mixing_embed_dim=3, hypernet_hidden=5, double_q=False,
                                          tau=0.3, target_update_interval=1,
                                          standardise_rewards=False)),
    # One team; the mixer reads the state through its LayerNorm.
    "qmix_layer_norm": (SPREAD_SPECS, QMIXConfig(mixing_embed_dim=4, hypernet_hidden=6,
                                                 state_layer_norm=True, max_grad_norm=0.5)),
}
"""name: (specs, the case's config; make_case sets the sizes, learning rate and seed)."""


def make_case(name, seed=0):
    specs, base = CASES[name]
    # adam_epsilon 1e-3: Adam's first step lr * g / (|g| + eps) then depends on the size of
    # g, and a gradient that is zero (a dead ReLU) or finite-difference noise (~1e-10)
    # moves a weight by ~1e-9 either way, so every weight can be compared to 1e-5.
    config = base.replace(hidden_sizes=(8,), batch_size=B, buffer_size=B, minimal_size=B,
                          seed=seed, lr=1e-2, gamma=0.95, adam_epsilon=1e-3)
    keras.utils.set_random_seed(seed)
    learner = QLearner(specs, config)
    rng = np.random.default_rng(seed)
    # Targets apart from the online networks, so that double Q-learning shows.
    for target in learner.target_q_networks + learner.target_mixers:
        target.set_weights([w + rng.normal(scale=0.1, size=w.shape).astype(np.float32)
                            for w in target.get_weights()])
    return specs, config, learner, make_batch(specs, rng)


def numpy_nets(learner):
    def params(model):
        return [w.astype(np.float64) for w in model.get_weights()]

    def mixer(model):
        return {name: params(model.get_layer(name)) for name in ref.MIXER_LAYERS}
    return {"q": [params(m) for m in learner.q_networks],
            "target_q": [params(m) for m in learner.target_q_networks],
            "mixers": [mixer(m) for m in learner.mixers],
            "target_mixers": [mixer(m) for m in learner.target_mixers],
            "actors": [params(a) for a in learner.actors]}


def numpy_stats(learner):
    return {k: getattr(learner, f"reward_{k}").numpy().copy() for k in ("mean", "var", "count")}


def learner_rewards(learner, batch, config):
    rewards = learner.team_rewards(batch)
    return learner.standardise_rewards(rewards, batch) if config.standardise_rewards else rewards


# --- The team rules ------------------------------------------------------------------------

def test_teams_are_one_on_cooperative_scenarios_and_by_name_on_competitive_ones():
    assert teams_of(["agent_0", "agent_1", "agent_2"]) == ((0, 1, 2),)
    assert teams_of(["speaker_0", "listener_0"]) == ((0, 1),)  # cooperative: one team
    assert teams_of(["adversary_0", "agent_0", "agent_1"]) == ((0,), (1, 2))
    assert teams_of(["adversary_0", "adversary_1", "adversary_2", "agent_0"]) == ((0, 1, 2), (3,))
    assert teams_of(["adversary_0", "agent_0", "agent_1"], "one") == ((0, 1, 2),)
    assert teams_of(["speaker_0", "listener_0"], "by_name") == ((0,), (1,))
    assert teams_of(["leadadversary_0", "adversary_0", "agent_0", "adversary_1"]) == (
        (0,), (1, 3), (2,))
    # Sharing: one team's agents of equal sizes; never across teams or sizes.
    assert parameter_groups(ADVERSARY_SPECS, ((0, 1, 2),), True) == ((0,), (1, 2))
    assert parameter_groups(SPREAD_SPECS, ((0,), (1, 2)), True) == ((0,), (1, 2))
    assert parameter_groups(SPREAD_SPECS, ((0, 1, 2),), False) == ((0,), (1,), (2,))


def test_the_learner_builds_a_network_per_group_a_mixer_per_team_and_an_adam_per_unit():
    _, _, learner, _ = make_case("qmix")
    assert learner.groups == ((0,), (1, 2)) and learner.mixed == ((0,), (1, 2))
    assert [m.input_shape[-1] for m in learner.q_networks] == [8, 12]  # 10 + a 2-wide id
    assert len(learner.mixers) == 2 and len(learner.optimizers) == 2
    assert learner.actors[0] is learner.q_networks[0]  # alone: its network acts
    assert [a.input_shape[-1] for a in learner.actors] == [8, 10, 10]
    _, _, iql, _ = make_case("iql_shared")
    assert iql.groups == ((0, 1, 2),) and iql.mixed == ((0,), (1,), (2,))
    assert len(iql.optimizers) == 1 and not iql.mixers


# --- Mixers --------------------------------------------------------------------------------

def test_vdn_mixes_by_summing():
    _, _, learner, _ = make_case("vdn")
    q = np.random.default_rng(1).normal(size=(B, 2)).astype(np.float32)
    np.testing.assert_allclose(learner.mix(1, q, np.zeros((B, 28), np.float32)), q.sum(-1),
                               rtol=1e-6)


def test_qmix_mixer_worked_out_by_hand():
    """Hypernetwork kernels zero, so only the biases speak: w1 = |(-2, 3)| = (2, 3),
    b1 = 0.5, w2 = |-1.5| = 1.5, v = 0.25 (through a ReLU layer of bias 1 and a
    kernel of 0.25). Q_tot = 1.5 elu(2 q1 + 3 q2 + 0.5) + 0.25."""
    mixer = make_qmix_mixer(2, 3, embed_dim=1, hypernet_hidden=2)
    biases = {"hyper_w1": [-2.0, 3.0], "hyper_b1": [0.5], "hyper_w2": [-1.5], "v_hidden": [1.0],
              "v": [0.0]}
    for layer in mixer.layers:
        if not layer.weights:
            continue
        kernel, bias = layer.get_weights()
        kernel = np.full_like(kernel, 0.25) if layer.name == "v" else np.zeros_like(kernel)
        layer.set_weights([kernel, np.asarray(biases.get(layer.name, np.zeros_like(bias)),
                                              np.float32)])
    state = np.array([[0.3, -1.0, 2.0], [5.0, 0.0, -4.0]], np.float32)
    q = np.array([[1.0, -1.0], [1.0, 1.0]], np.float32)
    expected = [1.5 * (np.exp(-0.5) - 1) + 0.25, 1.5 * 5.5 + 0.25]  # -0.340204, 8.5
    np.testing.assert_allclose(mixer([q, state]).numpy(), expected, rtol=1e-6)


def random_mixer(rng, n, state_dim, scale, layer_norm=False):
    mixer = make_qmix_mixer(n, state_dim, embed_dim=5, hypernet_hidden=7, layer_norm=layer_norm)
    mixer.set_weights([rng.normal(scale=scale, size=w.shape).astype(np.float32)
                       for w in mixer.get_weights()])
    return mixer


@pytest.mark.parametrize("layer_norm", [False, True])
def test_qmix_mixer_equals_numpy_for_known_weights(layer_norm):
    rng = np.random.default_rng(2)
    mixer = random_mixer(rng, 3, 9, 0.5, layer_norm)
    # Offset and scaled states, so that the LayerNorm's centring and scaling both show.
    q, state = rng.normal(size=(64, 3)), rng.normal(loc=0.7, scale=2.0, size=(64, 9))
    params = {name: [w.astype(np.float64) for w in mixer.get_layer(name).get_weights()]
              for name in ref.MIXER_LAYERS}
    np.testing.assert_allclose(mixer([q.astype(np.float32), state.astype(np.float32)]).numpy(),
                               ref.qmix(params, q, state, layer_norm), rtol=1e-5, atol=1e-6)
    if layer_norm:  # the reference without the LayerNorm is another function
        assert not np.allclose(ref.qmix(params, q, state), ref.qmix(params, q, state, True),
                               rtol=1e-3)


def test_the_state_layer_norm_is_the_only_difference_and_bounds_the_mixers_gain():
    """With state_layer_norm the mixer has the same weights (the LayerNorm has none), and
    its weights of the Q-values, dQ_tot/dq, no longer grow with the state's size: without
    it, the mean gain at the states 10 s is many times that at s (each hypernetwork grows
    about linearly with s, and Q_tot multiplies two); with it, LayerNorm(10 s) is
    LayerNorm(s) up to its epsilon, and so is the gain."""
    rng = np.random.default_rng(4)
    plain = random_mixer(rng, 3, 9, 0.5)
    normed = make_qmix_mixer(3, 9, embed_dim=5, hypernet_hidden=7, layer_norm=True)
    assert [layer.name for layer in normed.layers if layer.weights] == [
        layer.name for layer in plain.layers if layer.weights]
    normed.set_weights(plain.get_weights())
    q = tf.constant(rng.uniform(0.5, 1.5, size=(256, 3)), tf.float32)
    state = rng.normal(size=(256, 9))

    def gain(mixer, s):
        with tf.GradientTape() as tape:
            tape.watch(q)
            q_tot = mixer([q, tf.constant(s, tf.float32)])
        return tape.gradient(q_tot, q).numpy().sum(-1)  # [B]: sum_i dQ_tot/dq_i

    assert gain(plain, 10.0 * state).mean() > 20.0 * gain(plain, state).mean()
    np.testing.assert_allclose(gain(normed, 10.0 * state), gain(normed, state), rtol=1e-2)


@pytest.mark.parametrize("seed", range(3))
def test_qmix_is_monotonic_in_every_agents_q_value(seed):
    rng = np.random.default_rng(seed)
    mixer = random_mixer(rng, 4, 6, 2.0)  # large weights: many negative hypernetwork outputs
    q = tf.constant(rng.normal(scale=5.0, size=(512, 4)), tf.float32)
    state = tf.constant(rng.normal(scale=3.0, size=(512, 6)), tf.float32)
    raw_w1 = keras.Model(mixer.inputs, mixer.get_layer("hyper_w1").output)([q, state])
    assert np.mean(raw_w1.numpy() < 0) > 0.3  # the absolute value has work to do
    with tf.GradientTape() as tape:
        tape.watch(q)
        q_tot = mixer([q, state])
    grads = tape.gradient(q_tot, q).numpy()  # [512, 4]: dQ_tot/dQ_i per row
    assert np.all(grads >= 0) and np.mean(grads > 0) > 0.5


# --- The update against NumPy --------------------------------------------------------------

@pytest.mark.parametrize("case", sorted(CASES))
def test_td_targets_and_losses_equal_numpy(case):
    specs, config, learner, batch = make_case(case)
    nets, nbatch, stats = numpy_nets(learner), numpy_batch(batch), numpy_stats(learner)
    rewards = ref.team_rewards(nbatch, learner.mixed, config)
    if config.standardise_rewards:
        rewards = ref.standardise(rewards, ref.mixed_alive(nbatch, learner.mixed), stats)
    expected_targets = ref.td_targets(nets, nbatch, rewards, config, learner.groups,
                                      learner.mixed)
    targets = learner.td_targets(batch, learner_rewards(learner, batch, config))
    for k, (y, y_np) in enumerate(zip(targets, expected_targets)):
        np.testing.assert_allclose(y.numpy(), y_np, rtol=1e-5, atol=1e-5, err_msg=f"target {k}")
    losses = learner.td_losses(batch, targets)
    expected = ref.td_losses(nets, nbatch, expected_targets, config, learner.groups,
                             learner.mixed)
    np.testing.assert_allclose([float(v) for v in losses], expected, rtol=1e-5)


def test_reward_standardisation_is_epymarls_running_mean_std():
    """Two batches through the learner's running statistics against EPyMARL's
    RunningMeanStd transcribed (numpy_value_based.RunningMeanStd, torch.var's n - 1):
    VDN's one team reward with every agent alive, and IQL's per-agent rewards where each
    agent's statistics see only the transitions where it is alive. Dividing the batch's
    squared deviations by n (as this learner did) misses by n / (n - 1) = 32 / 31."""
    rng = np.random.default_rng(5)
    vdn = QLearner(SPREAD_SPECS, VDNConfig(hidden_sizes=(8,)))
    iql = QLearner(ADVERSARY_SPECS, IQLConfig(hidden_sizes=(8,), share_parameters=False))
    team, agents = ref.RunningMeanStd(), [ref.RunningMeanStd() for _ in ADVERSARY_SPECS]
    for step in range(2):
        batch = make_batch(SPREAD_SPECS, rng)
        everyone = batch._replace(alive=tuple(np.ones(B, np.float32) for _ in SPREAD_SPECS))
        rewards = vdn.team_rewards(everyone)
        got = vdn.standardise_rewards(rewards, everyone)[0].numpy()
        team.update(rewards[0].numpy())
        np.testing.assert_allclose(
            [vdn.reward_mean[0], vdn.reward_var[0], vdn.reward_count[0]],
            [team.mean, team.var, team.count], rtol=1e-12, err_msg=f"VDN, batch {step}")
        # EPyMARL divides by sqrt(var); the learner by sqrt(var + 1e-8).
        np.testing.assert_allclose(got, (rewards[0].numpy() - team.mean) / np.sqrt(team.var),
                                   rtol=1e-6, atol=1e-6)

        batch = make_batch(ADVERSARY_SPECS, rng)  # some agents not alive in some transitions
        iql.standardise_rewards(iql.team_rewards(batch), batch)
        for i, stats in enumerate(agents):
            stats.update(batch.rewards[i][batch.alive[i] > 0])
            np.testing.assert_allclose(
                [iql.reward_mean[i], iql.reward_var[i], iql.reward_count[i]],
                [stats.mean, stats.var, stats.count], rtol=1e-12,
                err_msg=f"IQL agent {i}, batch {step}")
    assert 0 < (batch.alive[0] == 0).sum() < B  # the mask had work to do


def test_one_reward_has_no_variance_and_no_reward_leaves_the_statistics():
    """Where torch.var of one element is NaN, one alive transition adds variance 0, and a
    batch where the TD error is never alive changes nothing."""
    iql = QLearner(ADVERSARY_SPECS, IQLConfig(hidden_sizes=(8,), share_parameters=False))
    batch = make_batch(ADVERSARY_SPECS, np.random.default_rng(6))
    one = np.zeros(B, np.float32)
    one[3] = 1.0
    batch = batch._replace(alive=(one, np.zeros(B, np.float32), np.ones(B, np.float32)),
                           rewards=tuple(np.full(B, 2.0, np.float32) for _ in range(3)))
    iql.standardise_rewards(iql.team_rewards(batch), batch)
    stats = ref.RunningMeanStd()
    stats.update_from_moments(2.0, 0.0, 1)
    np.testing.assert_allclose([iql.reward_mean[0], iql.reward_var[0], iql.reward_count[0]],
                               [stats.mean, stats.var, stats.count], rtol=1e-12)
    np.testing.assert_array_equal([iql.reward_mean[1], iql.reward_var[1], iql.reward_count[1]],
                                  [0.0, 1.0, 1e-4])
    assert np.all(np.isfinite(iql.reward_var.numpy()))


def test_td_targets_stop_at_termination_bootstrap_at_truncation_and_skip_agents_that_left():
    specs, config, learner, batch = make_case("vdn")
    ones, zeros = np.ones(B, np.float32), np.zeros(B, np.float32)
    rewards = [np.full(B, 2.0, np.float32), np.full(B, 3.0, np.float32)]
    alive = batch._replace(alive=(ones,) * 3, terminated=(zeros,) * 3)
    # Terminated (every member of the team): the target is the reward alone.
    done = alive._replace(terminated=(ones,) * 3)
    np.testing.assert_array_equal(learner.td_targets(done, rewards)[1].numpy(), rewards[1])
    # Truncated (stored as not terminated): the target bootstraps on the next state.
    next_q = learner.q_values(alive.next_obs, target=True)
    online = learner.q_values(alive.next_obs)
    value = [np.take_along_axis(next_q[i].numpy(), np.argmax(online[i].numpy(), -1)[:, None],
                                -1)[:, 0] for i in (1, 2)]
    np.testing.assert_allclose(learner.td_targets(alive, rewards)[1].numpy(),
                               3.0 + 0.95 * (value[0] + value[1]), rtol=1e-5)
    # agent_1 left the episode: it is zeros, reads terminated, and adds no next value;
    # the team goes on through agent_0.
    left = alive._replace(alive=(ones, ones, zeros), terminated=(zeros, zeros, ones))
    np.testing.assert_allclose(learner.td_targets(left, rewards)[1].numpy(),
                               3.0 + 0.95 * value[0], rtol=1e-5)
    # Its Q-value leaves the team's, and a transition where no member is alive is not counted.
    chosen = learner.chosen_q_values(left)
    np.testing.assert_array_equal(chosen[2].numpy(), zeros)
    gone = left._replace(alive=(ones, zeros, zeros), terminated=(zeros, ones, ones))
    targets = learner.td_targets(gone, rewards)
    assert float(learner.td_losses(gone, targets)[1]) == 0.0


def stepped_gradients(learner):
    """Each unit's (clipped) gradient of its first step, read back from Adam (m_1 = (1 - b1) g),
    in numpy_value_based.unit_params's order."""
    out = []
    for unit, optimizer in zip(learner.units, learner.optimizers):
        variables = [v for g in unit.groups for v in learner.q_networks[g].trainable_variables]
        for k in unit.mixed if learner.mixers else ():
            variables += [v for name in ref.MIXER_LAYERS
                          for v in learner.mixers[k].get_layer(name).trainable_variables]
        out.append([np.asarray(optimizer._momentums[optimizer._get_variable_index(v)])
                    / (1 - optimizer.beta_1) for v in variables])
    return out


def assert_nets_close(learner, expected, what=""):
    got = numpy_nets(learner)
    for kind in ("q", "target_q", "actors"):
        for i, (a, b) in enumerate(zip(got[kind], expected[kind])):
            for k, (x, y) in enumerate(zip(a, b)):
                np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-5,
                                           err_msg=f"{what}{kind}[{i}] variable {k}")
    for kind in ("mixers", "target_mixers"):
        for i, (a, b) in enumerate(zip(got[kind], expected[kind])):
            for name in ref.MIXER_LAYERS:
                for x, y in zip(a[name], b[name]):
                    np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-5,
                                               err_msg=f"{what}{kind}[{i}] {name}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_update_equals_numpy_adam_and_target_update(case):
    specs, config, learner, batch = make_case(case)
    before, stats = numpy_nets(learner), numpy_stats(learner)
    expected, expected_losses, expected_grads = ref.full_update(before, numpy_batch(batch),
                                                                config, learner, stats)
    losses = learner.update(batch)
    for i, spec in enumerate(specs):
        np.testing.assert_allclose(losses[f"loss/critic/{spec.name}"],
                                   expected_losses[learner._mixed_of[i]], rtol=1e-5,
                                   err_msg=spec.name)
    for u, (got, want) in enumerate(zip(stepped_gradients(learner), expected_grads)):
        assert_grads_close(got, want, f"unit {u}")
    assert_nets_close(learner, expected)
    for key, value in stats.items():
        np.testing.assert_allclose(getattr(learner, f"reward_{key}").numpy(), value, rtol=1e-6)
    moved = max(np.max(np.abs(a - b)) for a, b in zip(numpy_nets(learner)["q"][0],
                                                      before["q"][0]))
    assert moved > 1e-3  # the update did something


def test_clipping_and_double_q_are_visible_to_the_update_check():
    """The NumPy update with clipping off, or without double Q, differs from the right one:
    the case ``qmix`` exercises both."""
    _, config, learner, batch = make_case("qmix")
    nets, nbatch = numpy_nets(learner), numpy_batch(batch)
    _, losses, grads = ref.full_update(nets, nbatch, config, learner, numpy_stats(learner))
    _, _, unclipped = ref.full_update(nets, nbatch, config.replace(max_grad_norm=None), learner,
                                      numpy_stats(learner))
    with pytest.raises(AssertionError):
        for got, want in zip(unclipped, grads):
            assert_grads_close(got, want, "unclipped")
    _, single, _ = ref.full_update(nets, nbatch, config.replace(double_q=False), learner,
                                   numpy_stats(learner))
    assert not np.allclose(single, losses, rtol=1e-4)


def test_targets_move_every_target_update_interval_updates():
    _, config, _, batch = make_case("vdn")
    keras.utils.set_random_seed(0)
    learner = QLearner(CASES["vdn"][0], config.replace(target_update_interval=3))
    first = numpy_nets(learner)["target_q"]
    for step in (1, 2):
        learner.update(batch)
        for a, b in zip(numpy_nets(learner)["target_q"], first):
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x, y)
    learner.update(batch)
    nets = numpy_nets(learner)
    for a, b in zip(nets["target_q"], nets["q"]):  # tau = 1: copied
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    assert int(learner.num_updates) == 3


def test_a_shared_networks_actors_are_the_network_with_the_id_folded_in():
    _, _, learner, batch = make_case("iql_shared")
    learner.update(batch)
    obs = [o for o in batch.obs]
    shared = learner.q_values(obs)
    for i, actor in enumerate(learner.actors):
        np.testing.assert_allclose(actor(obs[i]).numpy(), shared[i].numpy(), rtol=1e-5, atol=1e-5)
    assert len(learner.actors[0].layers) == 3  # input, hidden, output: plain Dense


def test_the_update_traces_once():
    _, _, learner, batch = make_case("qmix")
    for _ in range(3):
        learner.update(batch)
    learner.update(Batch(*(tuple(a[: B // 2] for a in field) for field in batch)))
    assert learner._update.experimental_get_tracing_count() == 1
    rows = learner.layout.pack(
        obs=np.concatenate(batch.obs, -1), actions=np.concatenate(batch.actions, -1),
        next_obs=np.concatenate(batch.next_obs, -1), rewards=np.stack(batch.rewards, -1),
        terminated=np.stack(batch.terminated, -1), alive=np.stack(batch.alive, -1))
    learner.update_packed(rows)
    learner.update_packed(rows[:5])
    assert learner._update_packed.experimental_get_tracing_count() == 1


# --- The policy ----------------------------------------------------------------------------

def test_epsilon_falls_linearly_over_the_explored_rows_and_greedy_is_the_argmax():
    _, _, learner, batch = make_case("qmix")
    policy = EpsilonGreedyPolicy(ADVERSARY_SPECS, learner.actors, 1.0, 0.1, 100, rng=0)
    assert policy.backend == "numpy"
    obs = np.concatenate(batch.obs, -1)  # [32, 28]
    greedy = policy.act_packed(obs)
    q = np.concatenate([a(o).numpy() for a, o in zip(learner.actors, batch.obs)], -1)
    for s in (slice(0, 5), slice(5, 10), slice(10, 15)):
        np.testing.assert_array_equal(np.argmax(greedy[:, s], -1), np.argmax(q[:, s], -1))
    assert policy.explored_rows == 0 and policy.current_epsilon == 1.0
    policy.act_packed(obs, explore=True)
    assert policy.explored_rows == 32
    np.testing.assert_allclose(policy.current_epsilon, 1.0 - 0.9 * 0.32)
    for _ in range(3):
        policy.act_packed(obs, explore=True)
    assert policy.current_epsilon == pytest.approx(0.1)  # flat after 100 rows
    # epsilon 0.1: about 10% random actions of which 1/5 are the greedy one anyway.
    wide = np.tile(obs, (100, 1))
    explored = policy.act_packed(wide, explore=True)
    different = np.mean(np.argmax(explored[:, :5], -1) != np.argmax(np.tile(greedy, (100, 1))
                                                                       [:, :5], -1))
    assert 0.05 < different < 0.11
    assert explored.sum() == len(wide) * 3  # one-hot per agent


def test_the_snapshot_carries_the_schedules_position():
    _, _, learner, batch = make_case("vdn")
    policy = EpsilonGreedyPolicy(ADVERSARY_SPECS, learner.actors, 1.0, 0.05, 1000, rng=0)
    policy.act_packed(np.concatenate(batch.obs, -1), explore=True)
    snapshot = policy.snapshot()
    other = EpsilonGreedyPolicy(ADVERSARY_SPECS, learner.actors, 1.0, 0.05, 1000, rng=0)
    other.restore(snapshot)
    assert other.explored_rows == 32 and other.current_epsilon == policy.current_epsilon
    np.testing.assert_array_equal(other.snapshot(), snapshot)


# --- Box actions are refused ---------------------------------------------------------------

def test_a_qmix_run_from_before_state_layer_norm_resumes_with_the_raw_state():
    """config.json and the checkpoint of a run trained before the field existed lack it: it
    reads as its default, False, the raw state those runs were trained with."""
    from tf_maddpg.algorithms.registry import config_from_dict
    from tf_maddpg.config import changed_fields

    saved = {k: v for k, v in QMIXConfig().to_dict().items() if k != "state_layer_norm"}
    config = config_from_dict(saved)
    assert config.state_layer_norm is False
    assert changed_fields(saved, config.to_dict(), QMIXConfig().to_dict()) == []
    learner = QLearner(SPREAD_SPECS, config.replace(hidden_sizes=(8,)))
    assert all("state_norm" not in [layer.name for layer in m.layers]
               for m in learner.mixers + learner.target_mixers)
    normed = QLearner(SPREAD_SPECS, config.replace(hidden_sizes=(8,), state_layer_norm=True))
    assert all("state_norm" in [layer.name for layer in m.layers]
               for m in normed.mixers + normed.target_mixers)


def test_box_actions_are_refused_with_what_to_use_instead(capsys, tmp_path):
    specs = (AgentSpec("agent_0", 4, 2, False, (-1.0, -1.0), (1.0, 1.0)),)
    for algo in ("iql", "vdn", "qmix"):
        config = ALGORITHMS[algo].config_class()
        with pytest.raises(ValueError, match=r"agent 'agent_0' has a Box action space.*maddpg "
                                             r"or matd3.*ippo, mappo or happo"):
            QLearner(specs, config)
    with pytest.raises(ValueError, match="Box action space"):
        train(VDNConfig(num_episodes=1), "simple_spread_v3",
              env_kwargs={"continuous_actions": True}, verbose=False)
    status = main(["train", "simple_spread_v3", "--algo", "qmix", "--env-arg",
                   "continuous_actions=true", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.splitlines()[0] == (
        "tf-maddpg train: error: --algo qmix cannot train simple_spread_v3 --env-arg "
        "continuous_actions=true: agent 'agent_0' has a Box action space (5 dimensions), and "
        "qmix learns Q-values of Discrete actions only; train Box actions with maddpg or matd3 "
        "(off-policy) or ippo, mappo or happo (on-policy), or give the scenario Discrete "
        "actions (--env-arg continuous_actions=false)")
    assert not (tmp_path / "run").exists()


# --- Runs ----------------------------------------------------------------------------------

TINY = dict(num_episodes=4, episode_length=5, batch_size=8, buffer_size=64, minimal_size=8,
            update_interval=2, hidden_sizes=(8,), eval_interval=2, eval_episodes=2,
            checkpoint_interval=2, target_update_interval=3, epsilon_anneal_steps=30)


class DiscreteLeavingEnv(LeavingEnv):
    """LeavingEnv with Discrete(2) actions for ``runner``, which still leaves at step 2."""

    def __init__(self, leave_at=2, max_steps=5):
        super().__init__(leave_at, max_steps)
        self._action_spaces = {**self._action_spaces, "runner": spaces.Discrete(2)}


def comparable(history):
    """Metrics rows without the wall time, NaN (no actor loss) as None so that rows compare."""
    return [{k: None if v != v else v for k, v in row.items() if k != "wall_s"}
            for row in history]


@pytest.mark.parametrize("algo, scenario", [("iql", DiscreteLeavingEnv),
                                            ("qmix", "simple_adversary_v3")])
def test_a_resumed_run_equals_an_unbroken_one(tmp_path, algo, scenario):
    config = ALGORITHMS[algo].config_class(**{**TINY, "num_episodes": 8})
    unbroken = train(config, scenario, out_dir=str(tmp_path / "a"), verbose=False)
    train(config.replace(num_episodes=4), scenario, out_dir=str(tmp_path / "b"), verbose=False)
    resumed = train(config, scenario, out_dir=str(tmp_path / "b"), verbose=False, resume=True)
    assert (resumed.episodes, resumed.env_steps, resumed.num_updates) == (
        8, unbroken.env_steps, unbroken.num_updates)
    assert resumed.policy.explored_rows == unbroken.policy.explored_rows == unbroken.env_steps
    assert comparable(resumed.history) == comparable(unbroken.history)
    a, b = numpy_nets(unbroken.learner), numpy_nets(resumed.learner)
    for kind in ("q", "target_q", "actors"):
        for x, y in zip(a[kind], b[kind]):
            for u, v in zip(x, y):
                np.testing.assert_array_equal(u, v)
    for x, y in zip(a["mixers"] + a["target_mixers"], b["mixers"] + b["target_mixers"]):
        for name in ref.MIXER_LAYERS:
            np.testing.assert_array_equal(x[name][0], y[name][0])
    for name in ("num_updates", "reward_mean", "reward_var", "reward_count"):
        np.testing.assert_array_equal(getattr(unbroken.learner, name).numpy(),
                                      getattr(resumed.learner, name).numpy())
    assert int(resumed.learner.num_updates) == unbroken.num_updates > 3


@pytest.mark.parametrize("algo", ["iql", "vdn", "qmix"])
def test_each_algorithm_trains_on_a_scenario_with_teams(algo):
    config = ALGORITHMS[algo].config_class(**{**TINY, "num_envs": 2})
    result = train(config, "simple_world_comm_v3", verbose=False)
    assert result.num_updates > 0 and len(result.history) == 2
    assert all(np.isfinite(v) for k, v in result.history[-1].items() if "/actor/" not in k)
    assert result.policy.explored_rows == result.env_steps == 20  # 4 episodes x 5 steps
    if algo != "iql":  # leadadversary_0, the adversaries, the good agents
        assert result.learner.mixed == ((0,), (1, 2, 3), (4, 5))


def train_render_and_export(capsys, tmp_path, scenario, args) -> dict:
    """`tf-maddpg train SCENARIO --algo qmix ARGS` into tmp_path/run, then `evaluate --render`
    (a GIF) and `export` to tmp_path/exported, each checked to succeed; returns config.json."""
    out = tmp_path / "run"
    status = main(["train", scenario, "--algo", "qmix", *args, "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 0, err
    config = json.loads((out / "config.json").read_text())
    gif = tmp_path / "episode.gif"
    status = main(["evaluate", str(out), "--episodes", "2", "--render", str(gif)])
    stdout, err = capsys.readouterr()
    assert status == 0, err
    assert "greedy returns over 2 episodes" in stdout and gif.read_bytes()[:6] == b"GIF89a"
    status = main(["export", str(out), "--out", str(tmp_path / "exported")])
    assert status == 0, capsys.readouterr().err
    return config


def test_qmix_from_the_command_line_then_evaluate_render_and_export(capsys, tmp_path):
    out = tmp_path / "run"
    args = ["--episodes", "4", "--eval-interval", "2", "--eval-episodes", "1", "--batch-size",
            "8", "--minimal-size", "8", "--buffer-size", "64", "--update-interval", "2",
            "--hidden-sizes", "8", "--checkpoint-interval", "2", "--episode-length", "5",
            "--mixing-embed-dim", "4", "--epsilon-anneal-steps", "10", "--teams", "by_name"]
    config = train_render_and_export(capsys, tmp_path, "simple_adversary_v3", args)
    assert config["algo"] == "qmix" and config["mixing_embed_dim"] == 4
    loaded = load_exported(str(tmp_path / "exported"))
    obs = np.random.default_rng(0).normal(size=(16, 10)).astype(np.float32)
    actor = keras.models.load_model(str(out / "actors" / "agent_1.keras"))
    np.testing.assert_array_equal(
        loaded["agent_1"].serving_default(obs=tf.constant(obs))["action"].numpy(),
        np.argmax(actor(obs), axis=-1))
    assert os.path.isdir(out / "saved_model" / "adversary_0")

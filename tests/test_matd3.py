"""MATD3's update, checked against MATD3 written again in NumPy (tests/numpy_maddpg.py).

As for MADDPG (test_learner_exact.py): known weights, a batch with terminated
transitions and dead agents, and fixed noise (the target smoothing included)
must give the twin critic loss of a float64 forward pass, gradients equal to
finite differences of it, and, over two updates, the weights of Adam steps
and soft updates done in NumPy: a critics-only update, then a full one.
The smoothing adds the clipped noise to a Box agent's target action and to a
Discrete agent's target logits, before its one-hot or Gumbel-softmax target
action is formed; test_matd3_smoothing.py checks that a Discrete target action
stays a valid action, and test_matd3_bound.py that the critics stay bounded.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import numpy_maddpg as ref
from test_learner_exact import (ADVERSARY_SPECS, MIXED_SPECS, B, assert_grads_close,
                                assert_weights_close, make_batch, numpy_batch)
from tf_maddpg import MATD3Config, MATD3Learner, MADDPGConfig, MADDPGLearner

CASES = {
    "discrete": (ADVERSARY_SPECS, MATD3Config(epsilon=0.3, tau=0.1)),
    # Box and Discrete agents, clipping on, large smoothing so that the clip bites.
    "mixed": (MIXED_SPECS, MATD3Config(epsilon=0.3, max_grad_norm=1.0, target_noise=0.6,
                                       target_noise_clip=0.4, tau=0.1)),
    # openai/maddpg's switches (MADDPGConfig.original()) with MATD3's additions: per-agent
    # target updates (agent i's twin target critic moves with its first), per-tensor
    # clipping that bites, the soft own action, Gumbel target actions smoothed.
    "original": (MIXED_SPECS, MATD3Config.original(tau=0.5, max_grad_norm=0.1)),
}
"""name: (specs, the case's config; make_case sets the network sizes, batch and seed)."""
KINDS = ("actors", "critics", "critics2", "target_actors", "target_critics", "target_critics2")


def make_case(name, seed=0, **changes):
    specs, base = CASES[name]
    config = base.replace(hidden_sizes=(8, 8), batch_size=B, buffer_size=B, minimal_size=B,
                          seed=seed, **changes)
    keras.utils.set_random_seed(seed)
    learner = MATD3Learner(specs, config)
    rng = np.random.default_rng(seed)
    return specs, config, learner, make_batch(specs, rng), learner.numpy_noise(B, rng)


def numpy_nets(learner):
    return {kind: [[w.astype(np.float64) for w in m.get_weights()] for m in getattr(learner, kind)]
            for kind in KINDS}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_twin_critic_loss_equals_numpy(case):
    specs, config, learner, batch, noise = make_case(case)
    nets, nbatch = numpy_nets(learner), numpy_batch(batch)
    for i in range(len(specs)):
        got = float(learner.critic_loss(i, batch, noise.target[i], None, noise.smoothing[i]))
        want = ref.twin_critic_loss(i, nets, nbatch, noise.target[i], noise.smoothing[i],
                                    config, specs)
        np.testing.assert_allclose(got, want, rtol=1e-5)
        # The smoothing and the second critic matter: without them the loss differs.
        plain = ref.critic_loss(i, nets, nbatch, noise.target[i], config, specs)
        assert abs(want - 2 * plain) > 1e-4


def test_gradients_of_both_twins_equal_finite_differences():
    specs, config, learner, batch, noise = make_case("mixed")
    nets, nbatch = numpy_nets(learner), numpy_batch(batch)
    for i in range(len(specs)):
        variables = learner.critics[i].trainable_variables + learner.critics2[i].trainable_variables
        with tf.GradientTape() as tape:
            loss = learner.critic_loss(i, batch, noise.target[i], None, noise.smoothing[i])
        tf_grads = tape.gradient(loss, variables)
        fd_grads = []
        for kind in ("critics", "critics2"):
            fd_grads += ref.finite_difference_grad(
                lambda p, kind=kind: ref.twin_critic_loss(
                    i, ref.with_net(nets, kind, i, p), nbatch, noise.target[i],
                    noise.smoothing[i], config, specs),
                [p.copy() for p in nets[kind][i]])
        assert_grads_close(tf_grads, fd_grads, f"critic {i}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_critics_only_update_then_a_full_one_equal_numpy(case):
    specs, config, learner, batch, noise = make_case(case)
    nets, nbatch, adam = numpy_nets(learner), numpy_batch(batch), {}
    before = numpy_nets(learner)
    for update, update_actors in ((1, False), (2, True)):
        assert learner.actors_update_next() == update_actors
        nets, expected_losses = ref.matd3_update(nets, nbatch, noise, config, specs,
                                                 update_actors, adam)
        losses = learner.update_with_noise(batch, noise)
        assert sorted(losses) == sorted(f"loss/{kind}/{specs[i].name}"
                                        for kind, i in expected_losses)
        for (kind, i), value in expected_losses.items():
            np.testing.assert_allclose(losses[f"loss/{kind}/{specs[i].name}"], value, rtol=1e-5,
                                       atol=1e-6, err_msg=f"update {update}: {kind} loss {i}")
        assert_weights_close(learner, nets, KINDS, loose_fraction=0.002,
                             what=f"update {update}: ")
        if update == 1:  # the delayed networks stayed put
            for kind in ("actors", "target_actors", "target_critics", "target_critics2"):
                for a, b in zip(nets[kind], before[kind]):
                    for x, y in zip(a, b):
                        np.testing.assert_array_equal(x, y)


def test_policy_delay_sets_which_updates_move_the_actors():
    specs, config, learner, batch, noise = make_case("discrete", policy_delay=3)
    turns = []
    for _ in range(6):
        turns.append(learner.actors_update_next())
        losses = learner.update(batch)
        assert any(k.startswith("loss/actor/") for k in losses) == turns[-1]
    assert turns == [False, False, True, False, False, True]
    assert int(learner.actor_optimizers[0].iterations) == 2
    assert int(learner.critic2_optimizers[2].iterations) == 6
    # Each of the two compiled updates traced once, however often it ran.
    assert learner._full_update.fresh_noise.experimental_get_tracing_count() == 1
    assert learner._critics_update.fresh_noise.experimental_get_tracing_count() == 1


def test_the_networks_start_as_maddpgs():
    specs, config, _, _, _ = make_case("mixed", policy_delay=1)
    keras.utils.set_random_seed(0)
    matd3 = MATD3Learner(specs, config)
    keras.utils.set_random_seed(0)
    maddpg = MADDPGLearner(specs, MADDPGConfig(hidden_sizes=config.hidden_sizes))
    for a, b in zip(matd3.actors + matd3.critics, maddpg.actors + maddpg.critics):
        for x, y in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_array_equal(x, y)


def test_a_maddpg_config_is_refused():
    with pytest.raises(TypeError, match="MATD3Learner needs a MATD3Config"):
        MATD3Learner(ADVERSARY_SPECS, MADDPGConfig())


def test_a_matd3_run_logs_the_mean_of_the_actor_losses_it_computed(monkeypatch):
    from tf_maddpg import train
    from toy_envs import LeavingEnv

    logged = []
    update_packed = MATD3Learner.update_packed

    def recording(self, rows):
        logged.append(update_packed(self, rows))
        return logged[-1]

    monkeypatch.setattr(MATD3Learner, "update_packed", recording)
    config = MATD3Config(num_episodes=4, batch_size=8, buffer_size=64, minimal_size=8,
                         update_interval=1, hidden_sizes=(8,), episode_length=5, eval_interval=4,
                         eval_episodes=1, policy_delay=4)
    row = train(config, LeavingEnv, verbose=False).history[0]
    actor = [losses["loss/actor/walker"] for losses in logged if "loss/actor/walker" in losses]
    assert (len(logged), len(actor)) == (13, 3)  # 20 env steps, an update at each from the 8th
    np.testing.assert_allclose(row["loss/actor/walker"], np.mean(actor), rtol=1e-9)
    np.testing.assert_allclose(row["loss/critic/walker"],
                               np.mean([losses["loss/critic/walker"] for losses in logged]),
                               rtol=1e-9)


@pytest.mark.parametrize("algo", ["maddpg", "matd3"])
def test_losses_ignore_whatever_a_dead_agent_holds(algo):
    specs, config, learner, batch, noise = make_case("mixed")
    if algo == "maddpg":
        keras.utils.set_random_seed(0)
        learner = MADDPGLearner(specs, MADDPGConfig(hidden_sizes=(16, 16), epsilon=0.3))
    rng = np.random.default_rng(7)
    dead = [1.0 - a for a in batch.alive]  # [B] per agent: rows where the agent is gone
    garbage = batch._replace(
        obs=tuple(o + rng.normal(size=o.shape).astype(np.float32) * 50 * d[:, None]
                  for o, d in zip(batch.obs, dead)),
        actions=tuple(a + 7.0 * d[:, None] for a, d in zip(batch.actions, dead)),
        rewards=tuple(r + 1e3 * d for r, d in zip(batch.rewards, dead)),
        next_obs=tuple(o - 30.0 * d[:, None] for o, d in zip(batch.next_obs, dead)))
    assert min(float(np.sum(d)) for d in dead) > 0  # every agent is dead in some rows
    for i in range(len(specs)):
        extra = (None, noise.smoothing[i]) if algo == "matd3" else ()
        clean = float(learner.critic_loss(i, batch, noise.target[i], *extra))
        dirty = float(learner.critic_loss(i, garbage, noise.target[i], *extra))
        np.testing.assert_allclose(dirty, clean, rtol=1e-6)
        np.testing.assert_allclose(float(learner.actor_loss(i, garbage, noise.actor[i])),
                                   float(learner.actor_loss(i, batch, noise.actor[i])), rtol=1e-6)

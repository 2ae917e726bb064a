"""The update, checked against MADDPG written again in NumPy (tests/numpy_maddpg.py).

Known weights, a fixed batch (with terminated transitions and dead agents)
and fixed noise must give:
  * losses equal to a float64 NumPy forward pass (rtol 1e-5);
  * TensorFlow's gradients equal to float64 central finite differences of
    that NumPy loss (rtol 1e-3), so the check does not trust TF's autodiff;
  * after one full update, every actor, critic and target equal to one Adam
    step (PyTorch's formula, see TorchAdam) and the soft updates done in NumPy, in the
    configured order, and the gradients each optimizer stepped with (read
    back from Adam's first moment) equal to NumPy's finite differences,
    clipped as configured.
The "original" cases are ``MADDPGConfig.original()``: sequential, per-agent
target updates, per-tensor clipping and the soft own action;
test_ignoring_a_switch_of_original_fails_the_update_check shows that the
checks tell each of those switches from its other value.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import numpy_maddpg as ref
from tf_maddpg import AgentSpec, Batch, MADDPGConfig, MADDPGLearner

B = 32

ADVERSARY_SPECS = (AgentSpec("adversary_0", 8, 5, True), AgentSpec("agent_0", 10, 5, True),
                   AgentSpec("agent_1", 10, 5, True))
MIXED_SPECS = (AgentSpec("mover", 6, 2, False, (-1.0, 0.0), (1.0, 2.0)),
               AgentSpec("speaker", 7, 4, True),
               AgentSpec("listener", 5, 3, False, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)))

CASES = {
    # The PyTorch reference's variant, with a large epsilon so that random rows occur.
    "reference": (ADVERSARY_SPECS, MADDPGConfig(epsilon=0.3, tau=0.1)),
    # openai/maddpg's algorithm as MADDPGConfig.original() defines it: sequential with
    # per-agent target updates, Gumbel target actions, batch actions, the soft own
    # action, each gradient tensor clipped to 0.5, no epsilon.
    "original": (ADVERSARY_SPECS, MADDPGConfig.original(tau=0.1)),
    # The same on Box and Discrete agents, with every switch of original() visible in
    # the checks: a small max_grad_norm, so that the per-tensor clip bites (global and
    # per-tensor clipping then scale the gradients differently), and a large tau, so
    # that agent 0's new target actor moves agent 1's and 2's critic targets
    # measurably (see test_ignoring_a_switch_of_original_fails_the_update_check).
    "original_mixed": (MIXED_SPECS, MADDPGConfig.original(tau=0.5, max_grad_norm=0.1)),
    # Box and Discrete agents of different sizes, clipping on.
    "mixed": (MIXED_SPECS, MADDPGConfig(epsilon=0.3, max_grad_norm=1.0, tau=0.1)),
}
"""name: (specs, the case's config; make_case sets the network sizes, batch and seed)."""


def make_case(name, seed=0):
    specs, base = CASES[name]
    config = base.replace(hidden_sizes=(16, 16), batch_size=B, buffer_size=B, minimal_size=B,
                          seed=seed)
    keras.utils.set_random_seed(seed)
    learner = MADDPGLearner(specs, config)
    rng = np.random.default_rng(seed)
    return specs, config, learner, make_batch(specs, rng), learner.numpy_noise(B, rng)


def make_batch(specs, rng):
    """Random transitions; some terminated, some with an agent not alive (zeroed)."""
    def action(spec):
        if spec.discrete:
            return np.eye(spec.action_dim, dtype=np.float32)[rng.integers(spec.action_dim, size=B)]
        return rng.uniform(spec.low, spec.high, size=(B, spec.action_dim)).astype(np.float32)

    alive = [(rng.uniform(size=B) > 0.15).astype(np.float32) for _ in specs]
    terminated = [np.maximum(rng.uniform(size=B) < 0.2, a == 0).astype(np.float32) for a in alive]
    obs = [rng.normal(size=(B, s.obs_dim)).astype(np.float32) * a[:, None]
           for s, a in zip(specs, alive)]
    next_obs = [rng.normal(size=(B, s.obs_dim)).astype(np.float32) * a[:, None]
                for s, a in zip(specs, alive)]
    actions = [action(s) * a[:, None] for s, a in zip(specs, alive)]
    rewards = [rng.normal(size=B).astype(np.float32) * a for a in alive]
    return Batch(tuple(obs), tuple(actions), tuple(rewards), tuple(next_obs),
                 tuple(terminated), tuple(alive))


def numpy_nets(learner):
    return {kind: [[w.astype(np.float64) for w in m.get_weights()]
                   for m in getattr(learner, kind)]
            for kind in ("actors", "critics", "target_actors", "target_critics")}


def numpy_batch(batch):
    return Batch(*(tuple(np.asarray(a, np.float64) for a in field) for field in batch))


@pytest.mark.parametrize("case", sorted(CASES))
def test_losses_equal_numpy_forward_pass(case):
    specs, config, learner, batch, noise = make_case(case)
    nets, nbatch = numpy_nets(learner), numpy_batch(batch)
    for i in range(len(specs)):
        tf_critic = float(learner.critic_loss(i, batch, noise.target[i]))
        tf_actor = float(learner.actor_loss(i, batch, noise.actor[i]))
        np.testing.assert_allclose(
            tf_critic, ref.critic_loss(i, nets, nbatch, noise.target[i], config, specs), rtol=1e-5)
        np.testing.assert_allclose(
            tf_actor, ref.actor_loss(i, nets, nbatch, noise.actor[i], config, specs), rtol=1e-5)


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_equal_finite_differences(case):
    specs, config, learner, batch, noise = make_case(case)
    nets, nbatch = numpy_nets(learner), numpy_batch(batch)
    for i in range(len(specs)):
        with tf.GradientTape() as tape:
            loss = learner.critic_loss(i, batch, noise.target[i])
        tf_grads = tape.gradient(loss, learner.critics[i].trainable_variables)
        fd_grads = ref.finite_difference_grad(
            lambda p: ref.critic_loss(i, ref.with_net(nets, "critics", i, p), nbatch,
                                      noise.target[i], config, specs),
            [p.copy() for p in nets["critics"][i]])
        assert_grads_close(tf_grads, fd_grads, f"critic {i}")

        with tf.GradientTape() as tape:
            loss = learner.actor_loss(i, batch, noise.actor[i])
        tf_grads = tape.gradient(loss, learner.actors[i].trainable_variables)
        anchor = [p.copy() for p in nets["actors"][i]]
        fd_grads = ref.finite_difference_grad(
            lambda p: ref.actor_loss(i, ref.with_net(nets, "actors", i, p), nbatch,
                                     noise.actor[i], config, specs, anchor=anchor),
            [p.copy() for p in nets["actors"][i]])
        assert_grads_close(tf_grads, fd_grads, f"actor {i}")


def assert_grads_close(tf_grads, fd_grads, what):
    """TF gradients equal finite differences to rtol 1e-3 (atol 1e-5 of the largest)."""
    scale = max(np.max(np.abs(g)) for g in fd_grads)
    assert scale > 1e-4, f"{what}: gradients vanish; the check would be vacuous"
    for k, (g_tf, g_fd) in enumerate(zip(tf_grads, fd_grads)):
        np.testing.assert_allclose(np.asarray(g_tf), g_fd, rtol=1e-3, atol=1e-5 * scale,
                                   err_msg=f"{what}, variable {k}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_full_update_equals_numpy_adam_and_soft_update(case):
    specs, config, learner, batch, noise = make_case(case)
    expected, expected_losses, expected_grads = ref.full_update(
        numpy_nets(learner), numpy_batch(batch), noise, config, specs)
    losses = learner.update_with_noise(batch, noise)

    assert_update_close(specs, expected_losses, expected_grads,
                        {(kind, i): losses[f"loss/{kind}/{specs[i].name}"]
                         for kind, i in expected_losses},
                        stepped_gradients(learner))
    assert_weights_close(learner, expected, ("actors", "critics", "target_actors",
                                             "target_critics"), loose_fraction=0.001)


def stepped_gradients(learner):
    """The (clipped) gradient of each network's first step, read back from Adam.

    After one step, Adam's first moment is m_1 = (1 - beta_1) g.
    """
    def of(model, optimizer):
        return [np.asarray(optimizer._momentums[optimizer._get_variable_index(v)])
                / (1 - optimizer.beta_1) for v in model.trainable_variables]
    return {**{("critic", i): of(m, o)
               for i, (m, o) in enumerate(zip(learner.critics, learner.critic_optimizers))},
            **{("actor", i): of(m, o)
               for i, (m, o) in enumerate(zip(learner.actors, learner.actor_optimizers))}}


def assert_update_close(specs, expected_losses, expected_grads, losses, grads):
    """One update's losses (rtol 1e-5) and clipped gradients (see assert_grads_close) agree."""
    for (kind, i), value in expected_losses.items():
        # Later losses in the sequential order see weights already stepped in
        # float32, hence the small atol for losses that are near zero.
        np.testing.assert_allclose(losses[(kind, i)], value, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{kind} loss of agent {i}")
    # Adam's first step, lr * g / (|g| + eps), hardly depends on the scale of g: the
    # weights alone would not tell one clipping from another; the gradients do.
    for (kind, i), value in expected_grads.items():
        assert_grads_close(grads[(kind, i)], value, f"clipped {kind} gradient of agent {i}")


@pytest.mark.parametrize("switch, ignored", [("grad_clip", "global_norm"),
                                              ("own_action", "straight_through"),
                                              ("target_update", "after_all")])
def test_ignoring_a_switch_of_original_fails_the_update_check(switch, ignored):
    """A learner that ignored one switch of original() (took its default) fails the check.

    NumPy's update with the switch at its other value stands in for such a
    learner's: it differs from the right one by more than
    test_full_update_equals_numpy_adam_and_soft_update allows.
    """
    specs, config, learner, batch, noise = make_case("original_mixed")
    assert getattr(config, switch) != ignored
    nets, nbatch = numpy_nets(learner), numpy_batch(batch)
    _, expected_losses, expected_grads = ref.full_update(nets, nbatch, noise, config, specs)
    _, losses, grads = ref.full_update(nets, nbatch, noise, config.replace(**{switch: ignored}),
                                       specs)
    with pytest.raises(AssertionError):
        assert_update_close(specs, expected_losses, expected_grads, losses, grads)
    if switch == "grad_clip":  # the per-tensor clip is active: some tensors were cut to 0.1
        norms = [np.sqrt(np.sum(g ** 2)) for grad in expected_grads.values() for g in grad]
        assert np.sum(np.isclose(norms, config.max_grad_norm, rtol=1e-9)) >= 10
    if switch == "target_update":  # agent 0's new target actor moved agent 1's critic target
        assert abs(losses[("critic", 1)] / expected_losses[("critic", 1)] - 1) > 5e-5
        assert losses[("critic", 0)] == expected_losses[("critic", 0)]


def test_original_is_openai_maddpgs_algorithm():
    config = MADDPGConfig.original()
    assert dict(update_order=config.update_order, target_update=config.target_update,
                grad_clip=config.grad_clip, own_action=config.own_action,
                target_actions=config.target_actions, other_actions=config.other_actions,
                max_grad_norm=config.max_grad_norm, epsilon=config.epsilon) == dict(
        update_order="sequential", target_update="per_agent", grad_clip="per_tensor",
        own_action="soft", target_actions="gumbel", other_actions="batch", max_grad_norm=0.5,
        epsilon=0.0)
    # The defaults keep the PyTorch reference's algorithm.
    default = MADDPGConfig()
    assert (default.target_update, default.grad_clip, default.own_action) == (
        "after_all", "global_norm", "straight_through")
    with pytest.raises(ValueError, match="target_update"):
        MADDPGConfig(update_order="simultaneous", target_update="per_agent")


def assert_weights_close(learner, expected, kinds, loose_fraction, what=""):
    """The learner's networks of ``kinds`` hold ``expected``'s weights.

    Adam's first step is lr * g / (|g| + eps), nearly lr * sign(g): for the rare
    gradient entry within a few eps = 1e-8 of zero, float32 round-off in g moves
    the step by up to a few 1e-5 (lr = 1e-2). Every other entry agrees to 1e-6,
    and at most ``loose_fraction`` may not. A wrong order, sign, mask or target
    would move many weights by ~lr.
    """
    changed, loose = 0, 0
    for kind in kinds:
        for i, model in enumerate(getattr(learner, kind)):
            for k, (w_tf, w_np) in enumerate(zip(model.get_weights(), expected[kind][i])):
                np.testing.assert_allclose(w_tf, w_np, rtol=1e-5, atol=1e-4,
                                           err_msg=f"{what}{kind}[{i}] variable {k}")
                loose += np.sum(np.abs(w_tf - w_np) > 1e-6 + 1e-5 * np.abs(w_np))
                changed += w_np.size
    assert loose <= loose_fraction * changed, \
        f"{what}{loose} of {changed} weights differ by more than 1e-6"


def test_update_moves_every_network():
    """A guard on the test above: the update really changes weights and targets."""
    specs, config, learner, batch, noise = make_case("reference")
    before = numpy_nets(learner)
    learner.update_with_noise(batch, noise)
    after = numpy_nets(learner)
    for kind in before:
        for i in range(len(specs)):
            moved = max(np.max(np.abs(a - b)) for a, b in zip(after[kind][i], before[kind][i]))
            assert moved > 1e-4, f"{kind}[{i}] did not move"


def test_terminated_transitions_do_not_bootstrap_and_truncated_ones_do():
    specs, config, learner, batch, noise = make_case("reference")
    ones = tuple(np.ones(B, np.float32) for _ in specs)
    zeros = tuple(np.zeros(B, np.float32) for _ in specs)
    alive_batch = batch._replace(alive=ones, terminated=zeros)
    terminated_batch = alive_batch._replace(terminated=ones)
    # With terminated set, the target is the reward alone: loss = mean (Q - r)^2.
    q = learner.critics[0](np.concatenate(alive_batch.obs + alive_batch.actions, axis=-1))
    expected = np.mean((q.numpy()[:, 0] - alive_batch.rewards[0]) ** 2)
    np.testing.assert_allclose(float(learner.critic_loss(0, terminated_batch, noise.target[0])),
                               expected, rtol=1e-5)
    # Not terminated (a truncated step is stored as not terminated): it bootstraps.
    assert abs(float(learner.critic_loss(0, alive_batch, noise.target[0])) - expected) > 1e-3


@pytest.mark.parametrize("case", ["reference",
                                  pytest.param("original_mixed", marks=pytest.mark.extended)])
def test_xla_update_equals_the_graph_update(case):
    specs, config, learner, batch, noise = make_case(case)
    keras.utils.set_random_seed(0)
    xla = MADDPGLearner(specs, config.replace(jit_compile=True))
    for kind in ("actors", "critics", "target_actors", "target_critics"):
        for a, b in zip(getattr(learner, kind), getattr(xla, kind)):
            b.set_weights(a.get_weights())
    losses = learner.update_with_noise(batch, noise)
    xla_losses = xla.update_with_noise(batch, noise)
    for key in losses:
        np.testing.assert_allclose(xla_losses[key], losses[key], rtol=1e-5, atol=1e-6)
    for a, b in zip(learner.actors + learner.target_critics, xla.actors + xla.target_critics):
        for wa, wb in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_allclose(wb, wa, rtol=1e-5, atol=1e-5)


def test_the_update_traces_once():
    specs, config, learner, batch, noise = make_case("mixed")
    for _ in range(3):
        learner.update(batch)
        learner.update_with_noise(batch, noise)
    half = Batch(*(tuple(a[: B // 2] for a in field) for field in batch))
    learner.update(half)  # another batch size: no new trace either
    assert learner._full_update.fresh_noise.experimental_get_tracing_count() == 1
    assert learner._full_update.with_noise.experimental_get_tracing_count() == 1

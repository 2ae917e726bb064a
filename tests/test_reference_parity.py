"""tf_maddpg against its PyTorch reference (tf_maddpg.reference), number for number.

Both frameworks get the same weights (copied with tf_maddpg.reference.transfer),
the same batches and the same noise (an UpdateNoise drawn with NumPy), in every
variant MADDPGConfig offers and for every kind of action space. Then:
  * forward passes and losses agree to float32 round-off (rtol 1e-5);
  * one update of every agent gives the same losses, the same clipped
    gradients and the same new actors, critics and targets (rtol 1e-4, with
    Adam's ill-conditioned entries explained below);
  * 50 consecutive updates from the same start stay together.
Skipped when PyTorch is not installed.
"""

import csv
import importlib
import json
import sys

import keras
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tf_maddpg import (
    AgentSpec,
    Batch,
    MADDPGConfig,
    MADDPGLearner,
    MultiAgentPolicy,
    VecEnv,
    make_env,
)
from tf_maddpg.runs.metrics import metric_columns
from tf_maddpg.networks.optimizers import TorchAdam
from tf_maddpg.reference import (
    MADDPG,
    copy_tf_to_torch,
    copy_torch_to_tf,
    evaluate,
    train_reference,
)
from tf_maddpg.reference.maddpg import batch_to_torch, noise_to_torch
from tf_maddpg.training import evaluate as tf_evaluate

B = 32
HIDDEN = (16, 16)
STEPS = 50
NETWORKS = ("actors", "critics", "target_actors", "target_critics")

ADVERSARY_SPECS = (AgentSpec("adversary_0", 8, 5, True), AgentSpec("agent_0", 10, 5, True),
                   AgentSpec("agent_1", 10, 5, True))
BOX_SPECS = (AgentSpec("mover", 6, 2, False, (-1.0, 0.0), (1.0, 2.0)),
             AgentSpec("pusher", 5, 3, False, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)))
MIXED_SPECS = (AgentSpec("mover", 6, 2, False, (-1.0, 0.0), (1.0, 2.0)),
               AgentSpec("speaker", 7, 4, True),
               AgentSpec("listener", 5, 3, False, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)))

# name: (specs, config, per-agent probability that an agent is dead in a row).
# Every batch also has terminated rows (20%, plus every dead agent's rows).
CASES = {
    # The PyTorch teaching reference as MADDPGConfig() sets it.
    "reference": (ADVERSARY_SPECS, MADDPGConfig(), (0.15, 0.15, 0.15)),
    # openai/maddpg as MADDPGConfig.original() defines it: sequential with per-agent
    # target updates; Gumbel target actions, batch actions, the soft own action, each
    # gradient tensor clipped to 0.5, no epsilon.
    "original": (ADVERSARY_SPECS, MADDPGConfig.original(), (0.15, 0.15, 0.15)),
    # The same on Box and Discrete agents, where each switch of original() shows in
    # the first update (test_ignoring_a_switch_of_original_fails_the_parity_check): a
    # small max_grad_norm, so that the per-tensor clip bites, and a large tau, so that
    # agent 0's new target actor moves the next agents' critic targets measurably.
    "original_mixed": (MIXED_SPECS, MADDPGConfig.original(tau=0.5, max_grad_norm=0.1),
                       (0.15, 0.15, 0.15)),
    # Every gradient from the pre-update weights; many epsilon rows.
    "simultaneous": (ADVERSARY_SPECS, MADDPGConfig(update_order="simultaneous", epsilon=0.3),
                     (0.15, 0.15, 0.15)),
    # Box agents only, with clipping.
    "box": (BOX_SPECS, MADDPGConfig(max_grad_norm=1.0), (0.15, 0.15)),
    # Box and Discrete together; every other numeric switch moved from its default.
    "mixed": (MIXED_SPECS, MADDPGConfig(target_actions="gumbel", epsilon=0.3, gamma=0.9,
                                        tau=0.05, gumbel_temperature=0.5, logits_l2=0.01,
                                        max_grad_norm=1.0), (0.15, 0.15, 0.15)),
    # One agent dead in half the rows; simultaneous order with batch actions.
    "dead": (MIXED_SPECS, MADDPGConfig(update_order="simultaneous", other_actions="batch",
                                       epsilon=0.3), (0.5, 0.15, 0.3)),
}


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny batches run fastest on one thread (on a busy machine, two can be 100x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_pair(name, seed=0):
    """A learner and a reference with the same weights (the reference's initialisation)."""
    specs, overrides, dead = CASES[name]
    config = overrides.replace(hidden_sizes=HIDDEN, batch_size=B, buffer_size=B,
                               minimal_size=B, seed=seed)
    keras.utils.set_random_seed(seed)
    learner = MADDPGLearner(specs, config)
    reference = MADDPG(specs, config)
    copy_torch_to_tf(reference, learner)
    return specs, config, dead, learner, reference


def make_batch(specs, dead, rng):
    """Random transitions: agents dead in some rows (zeroed), some rows terminated."""
    def action(spec):
        if spec.discrete:
            return np.eye(spec.action_dim, dtype=np.float32)[rng.integers(spec.action_dim, size=B)]
        return rng.uniform(spec.low, spec.high, size=(B, spec.action_dim)).astype(np.float32)

    alive = [(rng.uniform(size=B) >= p).astype(np.float32) for p in dead]
    terminated = [np.maximum(rng.uniform(size=B) < 0.2, a == 0).astype(np.float32) for a in alive]
    obs = [rng.normal(size=(B, s.obs_dim)).astype(np.float32) * a[:, None]
           for s, a in zip(specs, alive)]
    next_obs = [rng.normal(size=(B, s.obs_dim)).astype(np.float32) * a[:, None]
                for s, a in zip(specs, alive)]
    actions = [action(s) * a[:, None] for s, a in zip(specs, alive)]
    rewards = [rng.normal(size=B).astype(np.float32) * a for a in alive]
    return Batch(tuple(obs), tuple(actions), tuple(rewards), tuple(next_obs),
                 tuple(terminated), tuple(alive))


def tf_weights(learner):
    """{network kind: per agent, the weights in Keras layout}."""
    return {kind: [m.get_weights() for m in getattr(learner, kind)] for kind in NETWORKS}


def torch_weights(reference):
    """The reference's weights in Keras layout (kernels [in, out])."""
    def keras_layout(net):
        return [w for layer in net.layers
                for w in (layer.weight.detach().numpy().T.copy(), layer.bias.detach().numpy().copy())]
    return {kind: [keras_layout(getattr(agent, kind[:-1])) for agent in reference.agents]
            for kind in NETWORKS}


def adam_first_gradients(reference):
    """The (clipped) gradients of the first update, read back from Adam: m_1 = (1 - beta_1) g."""
    def of(net, optimizer):
        beta_1 = optimizer.param_groups[0]["betas"][0]
        grads = [(optimizer.state[p]["exp_avg"] / (1 - beta_1)).numpy() for p in net.parameters()]
        return [g.T if g.ndim == 2 else g for g in grads]
    return {"actors": [of(a.actor, a.actor_optimizer) for a in reference.agents],
            "critics": [of(a.critic, a.critic_optimizer) for a in reference.agents]}


def tf_first_gradients(learner):
    """``adam_first_gradients`` of the TF learner (TorchAdam keeps the same first moment)."""
    def of(model, optimizer):
        return [np.asarray(optimizer._momentums[optimizer._get_variable_index(v)])
                / (1 - optimizer.beta_1) for v in model.trainable_variables]
    return {"actors": [of(m, o) for m, o in zip(learner.actors, learner.actor_optimizers)],
            "critics": [of(m, o) for m, o in zip(learner.critics, learner.critic_optimizers)]}


def first_update_excess(losses, expected_losses, grads, expected_grads):
    """How far one update's losses and clipped gradients are from the other framework's.

    Returns (ratio, where): the largest |difference| / tolerance over every
    loss and gradient entry (<= 1: they agree). Losses: rtol 1e-4, atol 1e-6
    (actor losses are differences of Q means and can sit near zero).
    Gradients: rtol 1e-4, atol 1e-6 of each network's largest entry: both
    frameworks sum over the batch in different orders, and in the sequential
    order later gradients see weights that Adam's ill-conditioned entries
    (adam_round_off) moved a little. The weights alone cannot tell clippings
    apart (Adam's first step is nearly lr * sign(g)); the gradients can.
    """
    assert sorted(losses) == sorted(expected_losses)
    worst = (0.0, "")
    for key, value in losses.items():
        want = expected_losses[key]
        worst = max(worst, (abs(value - want) / (1e-6 + 1e-4 * abs(want)), key))
    for kind in expected_grads:
        for i, (got, want) in enumerate(zip(grads[kind], expected_grads[kind])):
            scale = max(np.max(np.abs(g)) for g in want)
            for k, (g_got, g_want) in enumerate(zip(got, want)):
                ratio = np.max(np.abs(g_got - g_want) / (1e-6 * scale + 1e-4 * np.abs(g_want)))
                worst = max(worst, (float(ratio), f"clipped {kind}[{i}] gradient {k}"))
    return worst


@pytest.fixture(scope="module", params=sorted(CASES))
def lockstep(request):
    """Both frameworks updated STEPS times with the same batches and noise.

    Records the losses of every step, the weights before, after the first and
    after the last update, and the gradients of the first update.
    """
    specs, config, dead, learner, reference = make_pair(request.param)
    rng = np.random.default_rng(0)
    run = {"specs": specs, "config": config, "start": tf_weights(learner),
           "tf_losses": [], "torch_losses": []}
    for step in range(STEPS):
        batch = make_batch(specs, dead, rng)
        noise = learner.numpy_noise(B, rng)
        run["tf_losses"].append(learner.update_with_noise(batch, noise))
        run["torch_losses"].append(reference.update(batch, noise))
        if step == 0:
            run["tf_first"], run["torch_first"] = tf_weights(learner), torch_weights(reference)
            run["grads"] = adam_first_gradients(reference)
            run["tf_grads"] = tf_first_gradients(learner)
    run["tf_last"], run["torch_last"] = tf_weights(learner), torch_weights(reference)
    return run


# --- Forward passes --------------------------------------------------------------------

@pytest.mark.parametrize("case", sorted(CASES))
def test_same_weights_give_the_same_outputs_q_values_and_losses(case):
    specs, _, dead, learner, reference = make_pair(case)
    batch = make_batch(specs, dead, np.random.default_rng(1))
    noise = learner.numpy_noise(B, np.random.default_rng(2))
    torch_batch, torch_noise = batch_to_torch(batch), noise_to_torch(noise)
    # atol: ten float32 ulps of outputs of size ~1, for the entries near zero
    # where a relative tolerance means nothing.
    close = {"rtol": 1e-5, "atol": 1e-6}
    with torch.no_grad():
        for i, agent in enumerate(reference.agents):
            for target in (False, True):
                keras_actor = (learner.target_actors if target else learner.actors)[i]
                np.testing.assert_allclose(
                    agent.policy(torch_batch.obs[i], target=target).numpy(),
                    keras_actor(batch.obs[i]), **close,
                    err_msg=f"{'target ' * target}actor of {agent.spec.name}")
            joint = np.concatenate(batch.obs + batch.actions, axis=-1)
            for keras_critic, critic in ((learner.critics[i], agent.critic),
                                         (learner.target_critics[i], agent.target_critic)):
                np.testing.assert_allclose(critic(torch.from_numpy(joint)).numpy(),
                                           keras_critic(joint), **close)
    for i in range(len(specs)):
        np.testing.assert_allclose(
            reference.critic_loss(i, torch_batch, torch_noise.target[i]).item(),
            float(learner.critic_loss(i, batch, noise.target[i])), **close)
        np.testing.assert_allclose(
            reference.actor_loss(i, torch_batch, torch_noise.actor[i]).item(),
            float(learner.actor_loss(i, batch, noise.actor[i])), **close)


# --- Updates ---------------------------------------------------------------------------

def adam_round_off(g, lr, eps):
    """How far float32 round-off in a gradient g can move Adam's first step, entrywise.

    The first step is lr * g / (|g| + eps). Where |g| >> eps it is lr * sign(g),
    blind to round-off in g; between, an error dg in g moves it by
    lr * eps * dg / (|g| + eps)^2, up to the whole step. dg is bounded by
    1e-6 of the tensor's largest entry: ten times the difference measured
    between the two frameworks' gradients (both sum over the batch, in
    different orders). A gradient that is exactly zero (a unit dead for the
    whole batch) is zero in both frameworks and gets no allowance.
    """
    dg = 1e-6 * np.max(np.abs(g))
    allowance = np.minimum(2 * lr, lr * eps * dg / (np.abs(g) + eps) ** 2)
    return np.where(g == 0, 0.0, allowance)


def test_one_update_gives_the_same_losses_and_weights(lockstep):
    specs, config = lockstep["specs"], lockstep["config"]
    ratio, where = first_update_excess(lockstep["tf_losses"][0], lockstep["torch_losses"][0],
                                       lockstep["tf_grads"], lockstep["grads"])
    assert ratio <= 1, f"{where} differs by {ratio:.2f} times its tolerance"
    # Every entry of every network agrees to rtol 1e-4 and atol 1e-6 (float32
    # round-off of weights of size 0.1 to 1), plus what round-off in its
    # gradient can do to Adam's first step (adam_round_off; tau times that
    # for the targets). That allowance exceeds 1e-6 for a few entries only
    # (checked below): a wrong order, sign, mask or target would move many
    # weights by ~lr.
    loose, total = 0, 0
    for kind in NETWORKS:
        online = kind.replace("target_", "")
        lr = config.actor_lr if online == "actors" else config.critic_lr
        scale = config.tau if kind.startswith("target_") else 1.0
        for i in range(len(specs)):
            for k, (w_tf, w_torch, start, g) in enumerate(zip(
                    lockstep["tf_first"][kind][i], lockstep["torch_first"][kind][i],
                    lockstep["start"][kind][i], lockstep["grads"][online][i])):
                extra = scale * adam_round_off(g, lr, config.adam_epsilon)
                allowed = 1e-6 + 1e-4 * np.abs(w_torch) + extra
                error = np.abs(w_tf - w_torch)
                assert np.all(error <= allowed), (
                    f"{kind}[{i}] variable {k}: {np.sum(error > allowed)} entries differ, "
                    f"the worst by {np.max(error - allowed):.2e} beyond the tolerance")
                assert np.max(np.abs(w_torch - start)) > 1e-4 * scale, f"{kind}[{i}] did not move"
                loose += np.sum(extra > 1e-6)
                total += g.size
    assert loose <= 0.01 * total, f"{loose} of {total} entries have a loose tolerance"


@pytest.mark.parametrize("switch, ignored", [("grad_clip", "global_norm"),
                                              ("own_action", "straight_through"),
                                              ("target_update", "after_all")])
def test_ignoring_a_switch_of_original_fails_the_parity_check(switch, ignored):
    """A framework that ignored one switch of original() would fail the one-update check.

    The reference with the switch at its other value stands in for it: from
    the same weights, batch and noise, its first update is further from the
    right one than test_one_update_gives_the_same_losses_and_weights allows,
    by a margin: measured 8600 (grad_clip), 23000 (own_action) and 99
    (target_update) times the tolerance, where the TF and torch updates of
    every case stay within 0.08 of it. (In the "original" case, tau = 0.01
    leaves per-agent target updates a 0.4-tolerance trace after one update.)
    """
    specs, config, dead, learner, reference = make_pair("original_mixed")
    assert getattr(config, switch) != ignored
    rng = np.random.default_rng(0)
    batch, noise = make_batch(specs, dead, rng), learner.numpy_noise(B, rng)
    ignoring = MADDPG(specs, config.replace(**{switch: ignored}))  # the same initial weights
    losses, wrong_losses = reference.update(batch, noise), ignoring.update(batch, noise)
    grads, wrong_grads = adam_first_gradients(reference), adam_first_gradients(ignoring)
    ratio, where = first_update_excess(wrong_losses, losses, wrong_grads, grads)
    assert ratio > 10, f"ignoring {switch} moves {where} by only {ratio:.1f} times the tolerance"
    if switch == "target_update":  # agent 0's new target actor moved the next critic targets
        assert "critics[0]" not in where
        assert wrong_grads["critics"][0][0].tolist() == grads["critics"][0][0].tolist()


def adam_step_error(steps: int = 5) -> float:
    """Largest relative difference between TorchAdam's and torch.optim.Adam's steps.

    From zero weights, gradients of 1e-4 to 1e-2 (far from epsilon) and a fixed
    sign per entry, so every step is well conditioned and float32 round-off
    alone leaves a few 1e-7.
    """
    rng = np.random.default_rng(0)
    sign = rng.choice([-1.0, 1.0], size=256)
    grads = [(sign * rng.uniform(1e-4, 1e-2, size=256)).astype(np.float32) for _ in range(steps)]
    variable = keras.Variable(np.zeros(256, np.float32))
    optimizer = TorchAdam(learning_rate=1e-2, epsilon=1e-8)
    optimizer.build([variable])
    parameter = torch.nn.Parameter(torch.zeros(256))
    reference = torch.optim.Adam([parameter], lr=1e-2, eps=1e-8)
    for g in grads:
        optimizer.apply_gradients([(g, variable)])
        parameter.grad = torch.from_numpy(g)
        reference.step()
    expected = parameter.detach().numpy()
    return float(np.max(np.abs(keras.ops.convert_to_numpy(variable) / expected - 1)))


def test_torch_adam_takes_the_steps_of_torch_optim_adam():
    # Both compute the bias corrections in float64; what is left is float32 round-off.
    assert adam_step_error() < 1e-6


def test_fifty_updates_stay_together(lockstep):
    """50 updates, each with a fresh batch and fresh noise, from the same start.

    Measured (hidden 16, batch 32, all six cases, seeds 0-7, 48 runs): every
    loss of every step within 8e-8 + 8e-6 |loss| of the other framework's,
    and every weight and target within 6e-6 after 50 updates. That is the
    float32 round-off of the trajectory itself: the torch reference run in
    float64 differs from its float32 run by as much. The tolerances, rtol
    1e-4 with atol 1e-6 for losses and 5e-5 for weights, leave a factor of
    ten. A near-tie (an argmax, or a ReLU at zero) that round-off resolves
    differently would make the two runs different runs, 1e-3 apart and more;
    none of the 48 met one (a variant of TorchAdam with other round-off met
    one in 48, so another seed or machine could). For scale: tau 2% off
    moves the weights by 3e-2 to 2e-1 in 50 updates; before TorchAdam
    computed Adam's bias corrections in float64, the two runs drifted 1e-5
    to 1e-1 apart.
    """
    specs = lockstep["specs"]
    for step, (tf_losses, torch_losses) in enumerate(zip(lockstep["tf_losses"],
                                                         lockstep["torch_losses"])):
        for key, value in tf_losses.items():
            np.testing.assert_allclose(torch_losses[key], value, rtol=1e-4, atol=1e-6,
                                       err_msg=f"{key} at update {step + 1}")
    for kind in NETWORKS:
        for i in range(len(specs)):
            for k, (w_tf, w_torch) in enumerate(zip(lockstep["tf_last"][kind][i],
                                                    lockstep["torch_last"][kind][i])):
                np.testing.assert_allclose(w_tf, w_torch, rtol=1e-4, atol=5e-5,
                                           err_msg=f"{kind}[{i}] variable {k}")


# --- Weight transfer -------------------------------------------------------------------

def test_weights_travel_both_ways_exactly():
    specs, config, _, _, reference = make_pair("mixed")
    keras.utils.set_random_seed(5)
    other = MADDPGLearner(specs, config)  # different weights
    copy_torch_to_tf(reference, other)
    back = MADDPG(specs, config.replace(seed=7))
    copy_tf_to_torch(other, back)
    for kind in NETWORKS:
        for a, b, c in zip(tf_weights(other)[kind], torch_weights(reference)[kind],
                           torch_weights(back)[kind]):
            for x, y, z in zip(a, b, c):
                np.testing.assert_array_equal(x, y)
                np.testing.assert_array_equal(z, y)


def test_transfer_refuses_networks_of_other_shapes():
    specs, config, _, learner, _ = make_pair("box")
    wider = MADDPG(specs, config.replace(hidden_sizes=(32, 16)))
    with pytest.raises(ValueError, match="hidden_sizes"):
        copy_tf_to_torch(learner, wider)
    with pytest.raises(ValueError, match="hidden_sizes"):
        copy_torch_to_tf(wider, learner)
    other_agents = MADDPG(MIXED_SPECS, config)
    with pytest.raises(ValueError, match="same specs"):
        copy_tf_to_torch(learner, other_agents)


# --- Acting and evaluation -------------------------------------------------------------

def test_acting_matches_the_tf_policy():
    specs, _, _, learner, reference = make_pair("mixed")
    policy = MultiAgentPolicy(specs, learner.actors)
    rng = np.random.default_rng(3)
    obs = [rng.normal(size=(B, s.obs_dim)).astype(np.float32) for s in specs]
    for a, b in zip(reference.act(obs), policy.act(obs)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    single = reference.act([o[0] for o in obs], explore=True)
    explored = reference.act(obs, explore=True)
    for spec, one, many in zip(specs, single, explored):
        assert one.shape == (spec.action_dim,) and many.shape == (B, spec.action_dim)
        if spec.discrete:
            np.testing.assert_array_equal(many.sum(axis=-1), 1.0)
            np.testing.assert_array_equal(np.sort(many, axis=-1)[:, -1], 1.0)
        else:
            assert np.all(many >= np.float32(spec.low)) and np.all(many <= np.float32(spec.high))


def test_evaluation_matches_tf_evaluation_with_the_same_weights():
    env = make_env("simple_adversary_v3", max_cycles=10)
    config = MADDPGConfig(hidden_sizes=(16, 16))
    keras.utils.set_random_seed(0)
    learner = MADDPGLearner(env.specs, config)
    reference = MADDPG(env.specs, config)
    copy_tf_to_torch(learner, reference)
    policy = MultiAgentPolicy(env.specs, learner.actors)
    np.testing.assert_allclose(evaluate(reference, env, [4, 5], 10),
                               tf_evaluate(policy, VecEnv.of(env), [4, 5], 10), rtol=1e-6)
    env.close()


# --- The training loop -----------------------------------------------------------------

def test_train_reference_runs_updates_and_writes_the_tf_columns(tmp_path):
    config = MADDPGConfig(num_episodes=6, batch_size=32, buffer_size=1000, minimal_size=32,
                          update_interval=10, hidden_sizes=(16, 16), eval_interval=3,
                          eval_episodes=2)
    result = train_reference(config, "simple_adversary_v3", out_dir=str(tmp_path),
                             verbose=False)
    assert result.env_steps == 6 * 25
    assert result.num_updates == 12  # every 10 env steps from step 40 (32 stored) on
    assert result.update_s > 0 and result.wall_s > result.update_s
    assert [row["episode"] for row in result.history] == [3, 6]
    names = ["adversary_0", "agent_0", "agent_1"]
    with open(tmp_path / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == metric_columns(names)
    assert [int(r["env_steps"]) for r in rows] == [75, 150]
    assert all(np.isfinite(float(rows[-1][f"return/{n}"])) for n in names)
    assert json.loads((tmp_path / "config.json").read_text())["batch_size"] == 32


# --- Without PyTorch -------------------------------------------------------------------

def test_importing_without_torch_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    for name in [m for m in sys.modules if m.startswith("tf_maddpg.reference")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError, match=r"needs PyTorch: pip install 'tf_maddpg\[torch\]'"):
        importlib.import_module("tf_maddpg.reference")

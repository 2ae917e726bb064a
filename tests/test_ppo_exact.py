"""Exact tests of the PPO family (IPPO, MAPPO, HAPPO) against float64 NumPy.

Known weights, a known batch: GAE across truncation, termination, agents
that leave and environment boundaries; the surrogate, value and entropy
losses and their gradients (finite differences); one compiled step's new
weights; HAPPO's factor for a fixed order; the rollout's preparation
(values, ValueNorm, advantage standardisation).
"""

import numpy as np
import pytest
import tensorflow as tf

from numpy_ppo import (adam_first_step, finite_difference, forward, gae_by_sums, group_losses,
                       log_prob_entropy, split, weights_of)
from tf_maddpg.algorithms.happo.config import HAPPOConfig
from tf_maddpg.algorithms.happo.learner import HAPPOLearner
from tf_maddpg.algorithms.ippo.config import IPPOConfig
from tf_maddpg.algorithms.mappo.config import MAPPOConfig
from tf_maddpg.algorithms.ppo.learner import MiniBatch, PPOLearner
from tf_maddpg.envs.specs import AgentSpec
from tf_maddpg.storage.rollout import Rollout, gae

SPECS = (AgentSpec("agent_0", 3, 4, True), AgentSpec("agent_1", 3, 4, True),
         AgentSpec("speaker_0", 2, 2, False, (0.0, -1.0), (1.0, 1.0)))


def random_batch(learner, rows=9, seed=0):
    """A batch with ratios inside and outside the clip range, values inside and outside
    the value clip, negative and positive advantages and some dead agents."""
    rng = np.random.default_rng(seed)
    specs = learner.specs
    obs = rng.normal(size=(rows, learner.obs_width)).astype(np.float32)
    actions = []
    for s in specs:
        if s.discrete:
            actions.append(np.eye(s.action_dim)[rng.integers(0, s.action_dim, rows)])
        else:
            actions.append(rng.normal(0.5, 0.6, size=(rows, s.action_dim)))
    actions = np.concatenate(actions, axis=1).astype(np.float32)
    log_probs, values, _ = (x.numpy() for x in learner.evaluate(obs, obs, actions))
    n = len(specs)
    mask = (rng.random((rows, n)) > 0.2).astype(np.float32)
    mask[0] = 1.0
    return MiniBatch(
        obs=obs, actions=actions,
        old_log_probs=(log_probs + rng.normal(0, 0.3, (rows, n))).astype(np.float32),
        advantages=rng.normal(size=(rows, n)).astype(np.float32),
        returns=(values + rng.normal(0, 1.0, (rows, n))).astype(np.float32),
        old_values=(values + rng.normal(0, 0.3, (rows, n))).astype(np.float32),
        mask=mask, factor=rng.uniform(0.5, 1.5, (rows, n)).astype(np.float32))


def small(config_class, **changes):
    settings = dict(hidden_sizes=(5,), seed=3, huber_delta=0.5, max_grad_norm=0.5)
    settings.update(changes)
    return config_class(**settings)


LEARNERS = {
    "mappo_shared": lambda: PPOLearner(SPECS, small(MAPPOConfig)),
    "ippo_separate_no_norm": lambda: PPOLearner(SPECS, small(
        IPPOConfig, share_parameters=False, input_norm=False, value_clip=None,
        huber_delta=None, max_grad_norm=None)),
}


@pytest.fixture(params=sorted(LEARNERS))
def learner(request):
    return LEARNERS[request.param]()


def test_the_losses_equal_numpy(learner):
    batch = random_batch(learner)
    actor, critic, report = learner.losses(batch)
    want_actor, want_critic = group_losses(learner, batch, weights_of(learner.actors
                                                                      + learner.critics))
    for g in want_actor:
        np.testing.assert_allclose(float(actor[g]), want_actor[g], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(float(critic[g]), want_critic[g], rtol=1e-5, atol=1e-6)
    # The clipped surrogate was active somewhere: the batch exercises both branches.
    assert len(report) == 2 * len(SPECS)


def test_the_gradients_equal_finite_differences(learner):
    batch = random_batch(learner, seed=1)
    models = learner.actors + learner.critics
    params = weights_of(models)
    for g, leader in enumerate(learner._leaders):
        for kind, model in (("actor", learner.actors[leader]), ("critic", learner.critics[leader])):
            with tf.GradientTape() as tape:
                actor, critic, _ = learner.losses(batch)
                loss = actor[g] if kind == "actor" else critic[g]
            grads = tape.gradient(loss, model.trainable_variables)
            want = finite_difference(
                lambda p: group_losses(learner, batch, p)[0 if kind == "actor" else 1][g],
                params, [v.path for v in model.trainable_variables])
            for v, got in zip(model.trainable_variables, grads):
                np.testing.assert_allclose(got.numpy(), want[v.path], atol=2e-5, rtol=1e-3,
                                           err_msg=f"{kind} {g} {v.path}")


def test_one_step_gives_numpy_new_weights(learner):
    batch = random_batch(learner, seed=2)
    config = learner.config
    params = weights_of(learner.actors + learner.critics)
    want = {}
    for g, leader in enumerate(learner._leaders):
        for kind, model, lr in (("actor", learner.actors[leader], config.actor_lr),
                                ("critic", learner.critics[leader], config.critic_lr)):
            paths = [v.path for v in model.trainable_variables]
            grads = finite_difference(
                lambda p: group_losses(learner, batch, p)[0 if kind == "actor" else 1][g],
                params, paths)
            want.update(adam_first_step(params, grads, lr, config.adam_epsilon,
                                        config.max_grad_norm))
    learner._step(batch)
    for model in learner.actors + learner.critics:
        for v in model.trainable_variables:
            np.testing.assert_allclose(v.numpy(), want[v.path], atol=1e-5, err_msg=v.path)


def test_gae_across_truncation_termination_and_environments():
    rng = np.random.default_rng(0)
    T, E, N = 6, 3, 2
    rewards, values, next_values = (rng.normal(size=(T, E, N)) for _ in range(3))
    terminated = np.zeros((T, E, N), bool)
    truncated = np.zeros((T, E, N), bool)
    alive = np.ones((T, E, N), bool)
    terminated[2, 0, 1] = True   # agent 1 of env 0 leaves at step 2 ...
    alive[3:, 0, 1] = False      # ... and is not alive afterwards
    truncated[3, 1, :] = True    # env 1's episode is truncated at step 3 (a shorter episode)
    alive[4:, 1, :] = False
    terminated[5, 2, 0] = True   # env 2: agent 0 terminates at the last step
    got_adv, got_ret = gae(rewards, values, next_values, terminated, truncated, alive, 0.9, 0.8)
    want_adv, want_ret = gae_by_sums(rewards, values, next_values, terminated, truncated, alive,
                                     0.9, 0.8)
    np.testing.assert_allclose(got_adv, want_adv, atol=1e-12)
    np.testing.assert_allclose(got_ret, want_ret, atol=1e-12)
    # By hand: the terminated step does not bootstrap, the truncated one does.
    assert got_adv[2, 0, 1] == pytest.approx(rewards[2, 0, 1] - values[2, 0, 1])
    assert got_adv[3, 1, 0] == pytest.approx(rewards[3, 1, 0] + 0.9 * next_values[3, 1, 0]
                                             - values[3, 1, 0])
    assert got_adv[5, 1, 0] == 0.0 and got_ret[5, 1, 0] == 0.0  # not alive: no entry


def test_prepare_computes_gae_valuenorm_and_standardised_advantages():
    config = small(MAPPOConfig, gamma=0.9, gae_lambda=0.7)
    learner = PPOLearner(SPECS, config)
    rng = np.random.default_rng(4)
    T, E, N = 4, 2, len(SPECS)
    rollout = Rollout(SPECS, T, E)
    for t in range(T):
        batch = random_batch(learner, rows=E, seed=10 + t)
        alive = np.ones((E, N), bool)
        terminated = np.zeros((E, N), bool)
        truncated = np.zeros((E, N), bool)
        if t >= 2:
            alive[1, 2] = False
        if t == 1:
            terminated[1, 2] = True
        if t == T - 1:
            truncated[:] = True
        rollout.add(obs=batch.obs, actions=batch.actions,
                    next_obs=rng.normal(size=batch.obs.shape).astype(np.float32),
                    rewards=rng.normal(size=(E, N)), terminated=terminated,
                    truncated=truncated, alive=alive)
    rows = learner.prepare(rollout)

    params = weights_of(learner.actors + learner.critics)
    obs = rollout.valid("obs").reshape(T * E, -1)
    next_obs = rollout.valid("next_obs").reshape(T * E, -1)
    actions = rollout.valid("actions").reshape(T * E, -1)
    values = np.stack([forward(c, obs, params)[:, 0] for c in learner.critics], -1)
    next_values = np.stack([forward(c, next_obs, params)[:, 0] for c in learner.critics], -1)
    # ValueNorm starts empty: mean 0, variance floored at 1e-2 (std 0.1).
    adv, ret = gae_by_sums(rollout.valid("rewards").astype(np.float64),
                           0.1 * values.reshape(T, E, N), 0.1 * next_values.reshape(T, E, N),
                           rollout.valid("terminated"), rollout.valid("truncated"),
                           rollout.valid("alive"), 0.9, 0.7)
    adv, ret = adv.reshape(T * E, N), ret.reshape(T * E, N)
    mask = rollout.valid("alive").reshape(T * E, N)
    for group in learner.groups:
        m = list(group.members)
        targets = ret[:, m][mask[:, m]]
        b = 0.99999
        debias = 1 - b
        mean = (1 - b) * targets.mean() / debias
        var = max((1 - b) * (targets ** 2).mean() / debias - mean ** 2, 1e-2)
        ret[:, m] = (ret[:, m] - mean) / np.sqrt(var)
        a = adv[:, m][mask[:, m]]
        adv[:, m] = (adv[:, m] - a.mean()) / (a.std() + 1e-5)
    adv = np.where(mask, adv, 0.0)
    log_probs = np.stack([log_prob_entropy(s, a, o, u, params)[0] for s, a, o, u in zip(
        SPECS, learner.actors, split(obs, [s.obs_dim for s in SPECS]),
        split(actions, [s.action_dim for s in SPECS]))], -1)
    np.testing.assert_allclose(rows["advantages"], adv, atol=1e-5)
    np.testing.assert_allclose(rows["returns"][mask], ret[mask], atol=1e-5)
    np.testing.assert_allclose(rows["old_values"], values, atol=1e-5)
    np.testing.assert_allclose(rows["old_log_probs"], log_probs, atol=1e-5)
    np.testing.assert_array_equal(rows["mask"], mask)


def test_happo_factor_for_a_fixed_order():
    specs = SPECS[1:]  # a Discrete and a Box agent
    learner = HAPPOLearner(specs, small(HAPPOConfig, epochs=1))
    learner.agent_order = lambda: np.array([1, 0])
    batch = random_batch(learner, seed=5)
    rows = {k: np.array(getattr(batch, k)) for k in batch._fields}
    rows["factor"][:] = 1.0
    before = weights_of(learner.actors + learner.critics)
    learner.train(rows)
    after = weights_of(learner.actors + learner.critics)
    # Agent 1 went first: its factor is 1. Agent 0's factor is agent 1's new/old ratio.
    obs = split(batch.obs, [s.obs_dim for s in specs])
    actions = split(batch.actions, [s.action_dim for s in specs])
    new_log_prob, _ = log_prob_entropy(specs[1], learner.actors[1], obs[1], actions[1], after)
    ratio = np.exp(new_log_prob - batch.old_log_probs[:, 1])
    want_factor = np.where(batch.mask[:, 1] > 0, ratio, 1.0)
    np.testing.assert_allclose(rows["factor"][:, 0], want_factor, rtol=1e-5)
    np.testing.assert_array_equal(rows["factor"][:, 1], 1.0)
    # And agent 0's step used it: its new weights are the NumPy step with that factor.
    expect = MiniBatch(**{**rows, "factor": np.stack([want_factor, np.ones(len(ratio))], -1)})
    model = learner.actors[0]
    grads = finite_difference(lambda p: group_losses(learner, expect, p)[0][0], before,
                              [v.path for v in model.trainable_variables])
    want = adam_first_step(before, grads, learner.config.actor_lr, learner.config.adam_epsilon,
                           learner.config.max_grad_norm)
    for v in model.trainable_variables:
        np.testing.assert_allclose(after[v.path], want[v.path], atol=1e-5, err_msg=v.path)

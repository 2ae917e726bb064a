"""Exact tests of the PPO family (IPPO, MAPPO, HAPPO) against float64 NumPy.

Known weights, a known batch: GAE across truncation, termination, agents
that leave and environment boundaries; the surrogate, value and entropy
losses and their gradients (finite differences); one compiled step's new
weights; HAPPO's factor for a fixed order; the rollout's preparation
(values, ValueNorm, advantage standardisation).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from numpy_ppo import (ValueNorm, adam_first_step, finite_difference, forward, gae_by_sums,
                       group_losses, log_prob_entropy, split, team_sums, weights_of)
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


# Agents named as mpe2's competitive scenarios: two teams (adversary_*, agent_*).
TEAM_SPECS = (AgentSpec("adversary_0", 3, 4, True), AgentSpec("agent_0", 3, 4, True),
              AgentSpec("agent_1", 2, 2, False, (0.0, -1.0), (1.0, 1.0)))

LEARNERS = {
    "mappo_shared": lambda: PPOLearner(SPECS, small(MAPPOConfig)),
    "ippo_separate_no_norm": lambda: PPOLearner(SPECS, small(
        IPPOConfig, share_parameters=False, input_norm=False, hidden_norm=False,
        value_clip=None, huber_delta=None, max_grad_norm=None)),
    "happo_team_critics": lambda: HAPPOLearner(TEAM_SPECS, small(HAPPOConfig)),
    "mappo_harl_one_critic": lambda: PPOLearner(SPECS, MAPPOConfig.harl(
        hidden_sizes=(5, 4), seed=3, huber_delta=0.5, max_grad_norm=0.5)),
}


def with_biases(learner, seed=11):
    """``learner`` with every Dense bias moved off zero: with zero biases a row whose
    first layer is all ReLU-dead puts the next layer's pre-activations exactly at the
    ReLU's kink, where finite differences and the gradient legitimately disagree."""
    rng = np.random.default_rng(seed)
    for model in learner.actors + learner.critics:
        for layer in model.layers:
            if isinstance(layer, keras.layers.Dense):
                layer.bias.assign(rng.normal(0.0, 0.1, layer.bias.shape).astype(np.float32))
    return learner


@pytest.fixture(autouse=True)
def initial_weights():
    """The same initial weights whatever ran before (a run seeds Keras in its session;
    these tests build learners directly). Finite differences need weights away from
    the kinks of ReLU and LayerNorm on near-constant rows: these are."""
    keras.utils.set_random_seed(0)


@pytest.fixture(params=sorted(LEARNERS))
def learner(request):
    return with_biases(LEARNERS[request.param]())


def test_the_losses_equal_numpy(learner):
    batch = random_batch(learner)
    actor, critic, report = learner.losses(batch)
    want_actor, want_critic = group_losses(learner, batch, weights_of(learner.actors
                                                                      + learner.critics))
    assert sorted(actor) == sorted(want_actor) and sorted(critic) == sorted(want_critic)
    for g in want_actor:
        np.testing.assert_allclose(float(actor[g]), want_actor[g], rtol=1e-5, atol=1e-6)
    for c in want_critic:
        np.testing.assert_allclose(float(critic[c]), want_critic[c], rtol=1e-5, atol=1e-6)
    # The clipped surrogate was active somewhere: the batch exercises both branches.
    assert len(report) == 2 * len(SPECS)


def test_the_gradients_equal_finite_differences(learner):
    batch = random_batch(learner, seed=1)
    models = learner.actors + learner.critics
    params = weights_of(models)
    networks = ([("actor", g, learner.actors[i]) for g, i in enumerate(learner._leaders)]
                + [("critic", c, learner.critics[i])
                   for c, i in enumerate(learner._critic_leaders)])
    for kind, g, model in networks:
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


def normalized_by_numpy(learner, batch, norms):
    """The batch with its (de-normalised) targets normalised as the compiled step does:
    each critic's ValueNorm (``norms``, NumPy) first moved with its alive rows' targets."""
    returns = np.array(batch.returns, np.float64)
    if not learner.config.value_norm:
        return batch
    for c, group in enumerate(learner.critic_groups):
        m = list(group.members)
        norms[c].update(returns[:, m][np.asarray(batch.mask)[:, m] > 0])
        returns[:, m] = norms[c].normalize(returns[:, m])
    return batch._replace(returns=returns)


def test_one_step_gives_numpy_new_weights(learner):
    """The step moves each critic's ValueNorm with its minibatch's targets, normalises
    them, then takes one Adam step of every actor and critic."""
    batch = random_batch(learner, seed=2)
    batch = batch._replace(returns=np.asarray(batch.returns) * 7.0 + 3.0)  # de-normalised
    config = learner.config
    params = weights_of(learner.actors + learner.critics)
    norms = [ValueNorm() for _ in learner.critic_groups]
    expect = normalized_by_numpy(learner, batch, norms)
    want = {}
    networks = ([("actor", g, learner.actors[i], config.actor_lr)
                 for g, i in enumerate(learner._leaders)]
                + [("critic", c, learner.critics[i], config.critic_lr)
                   for c, i in enumerate(learner._critic_leaders)])
    for kind, g, model, lr in networks:
        paths = [v.path for v in model.trainable_variables]
        grads = finite_difference(
            lambda p: group_losses(learner, expect, p)[0 if kind == "actor" else 1][g],
            params, paths)
        want.update(adam_first_step(params, grads, lr, config.adam_epsilon,
                                    config.max_grad_norm))
    learner._step(batch)
    for model in learner.actors + learner.critics:
        for v in model.trainable_variables:
            np.testing.assert_allclose(v.numpy(), want[v.path], atol=1e-5, err_msg=v.path)
    for c, norm in enumerate(norms):
        np.testing.assert_allclose([float(x) for x in learner.value_norm.stats(c)],
                                   norm.stats(), rtol=1e-9)


def test_value_norm_moves_at_every_minibatch_step():
    """Two steps: the second normalises with the statistics both minibatches moved (the
    MAPPO repository's ValueNorm.update in every cal_value_loss); with 'rollout' the
    steps leave them alone."""
    for update, moves in (("minibatch", True), ("rollout", False)):
        learner = PPOLearner(SPECS, small(MAPPOConfig, value_norm_update=update))
        norms = [ValueNorm() for _ in learner.critic_groups]
        for seed in (6, 7):
            batch = random_batch(learner, seed=seed)
            batch = batch._replace(returns=np.asarray(batch.returns) * 5.0 - 2.0)
            if moves:
                normalized_by_numpy(learner, batch, norms)
            learner._step(batch)
        for c, norm in enumerate(norms):
            np.testing.assert_allclose([float(x) for x in learner.value_norm.stats(c)],
                                       norm.stats(), rtol=1e-9, err_msg=update)


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


@pytest.mark.parametrize("specs,changes", [
    (SPECS, dict(team_reward="own")),                         # each agent its own reward
    (SPECS, dict()),                                          # one team: the sum of all three
    (TEAM_SPECS, dict(team_critic=True, team_reward="mean")),  # two teams, a critic each
    (SPECS, dict(team_reward="own", value_norm_update="rollout")),
], ids=["own_reward", "team_sum", "two_team_critics_mean", "valuenorm_per_rollout"])
def test_prepare_computes_gae_valuenorm_and_standardised_advantages(specs, changes):
    config = small(MAPPOConfig, gamma=0.9, gae_lambda=0.7, **changes)
    learner = PPOLearner(specs, config)
    rng = np.random.default_rng(4)
    T, E, N = 4, 2, len(specs)
    rollout = Rollout(specs, T, E)
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
    rewards = rollout.valid("rewards").astype(np.float64)
    if config.team_reward != "own":
        teams = [[0, 1, 2]] if specs is SPECS else [[0], [1, 2]]
        rewards = team_sums(rewards, rollout.valid("alive"), teams,
                            mean=config.team_reward == "mean")
        assert learner.teams == tuple(map(tuple, teams))
    # ValueNorm starts empty: mean 0, variance floored at 1e-2 (std 0.1).
    adv, ret = gae_by_sums(rewards, 0.1 * values.reshape(T, E, N),
                           0.1 * next_values.reshape(T, E, N),
                           rollout.valid("terminated"), rollout.valid("truncated"),
                           rollout.valid("alive"), 0.9, 0.7)
    adv, ret = adv.reshape(T * E, N), ret.reshape(T * E, N)
    mask = rollout.valid("alive").reshape(T * E, N)
    for group in learner.groups:
        m = list(group.members)
        a = adv[:, m][mask[:, m]]
        adv[:, m] = (adv[:, m] - a.mean()) / (a.std() + 1e-5)
    adv = np.where(mask, adv, 0.0)
    log_probs = np.stack([log_prob_entropy(s, a, o, u, params)[0] for s, a, o, u in zip(
        specs, learner.actors, split(obs, [s.obs_dim for s in specs]),
        split(actions, [s.action_dim for s in specs]))], -1)
    np.testing.assert_allclose(rows["advantages"], adv, atol=1e-5)
    # The value targets stay in the reward's units: the compiled step normalises them.
    np.testing.assert_allclose(rows["returns"][mask], ret[mask], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rows["old_values"], values, atol=1e-5)
    np.testing.assert_allclose(rows["old_log_probs"], log_probs, atol=1e-5)
    np.testing.assert_array_equal(rows["mask"], mask)
    for c, group in enumerate(learner.critic_groups):
        norm = ValueNorm()
        if config.value_norm_update == "rollout":  # moved once, with every target
            m = list(group.members)
            norm.update(ret[:, m][mask[:, m]])
        np.testing.assert_allclose([float(x) for x in learner.value_norm.stats(c)],
                                   norm.stats(), rtol=1e-6)


def test_a_team_critic_gives_every_member_the_same_value_and_advantage():
    """HAPPO (HARL's): one V(s) per team, the team's summed reward, so the members of a
    team share their value and advantage; the other team has its own."""
    learner = HAPPOLearner(TEAM_SPECS, small(HAPPOConfig))
    assert learner.teams == ((0,), (1, 2))
    assert learner.critics[1] is learner.critics[2] and learner.critics[0] is not learner.critics[1]
    assert len(learner.checkpoint_objects()["critics"]) == 2
    rng = np.random.default_rng(8)
    T, E = 3, 4
    rollout = Rollout(TEAM_SPECS, T, E)
    for t in range(T):
        batch = random_batch(learner, rows=E, seed=20 + t)
        rollout.add(obs=batch.obs, actions=batch.actions, next_obs=batch.obs,
                    rewards=rng.normal(size=(E, 3)), terminated=np.zeros((E, 3), bool),
                    truncated=np.full((E, 3), t == T - 1), alive=np.ones((E, 3), bool))
    rows = learner.prepare(rollout)
    np.testing.assert_array_equal(rows["old_values"][:, 1], rows["old_values"][:, 2])
    np.testing.assert_array_equal(rows["returns"][:, 1], rows["returns"][:, 2])
    np.testing.assert_allclose(rows["advantages"][:, 1], rows["advantages"][:, 2], atol=1e-6)
    assert not np.allclose(rows["advantages"][:, 0], rows["advantages"][:, 1])


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


def test_happo_factor_runs_within_each_team():
    """Two teams (adversary_0 | agent_0, agent_1), order agent_1, adversary_0, agent_0:
    the adversary, first of its team, gets 1 though agent_1 moved before it; agent_0
    gets agent_1's new/old ratio."""
    learner = HAPPOLearner(TEAM_SPECS, small(HAPPOConfig, epochs=1))
    learner.agent_order = lambda: np.array([2, 0, 1])
    batch = random_batch(learner, seed=5)
    rows = {k: np.array(getattr(batch, k)) for k in batch._fields}
    learner.train(rows)
    after = weights_of(learner.actors)
    obs = split(batch.obs, [s.obs_dim for s in TEAM_SPECS])
    actions = split(batch.actions, [s.action_dim for s in TEAM_SPECS])
    new_log_prob, _ = log_prob_entropy(TEAM_SPECS[2], learner.actors[2], obs[2], actions[2],
                                       after)
    ratio = np.where(batch.mask[:, 2] > 0, np.exp(new_log_prob - batch.old_log_probs[:, 2]), 1.0)
    np.testing.assert_array_equal(learner.last_factors[:, 2], 1.0)
    np.testing.assert_array_equal(learner.last_factors[:, 0], 1.0)
    np.testing.assert_allclose(learner.last_factors[:, 1], ratio, rtol=1e-5)
    assert not np.allclose(ratio, 1.0)

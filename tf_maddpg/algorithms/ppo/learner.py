"""The PPO family's update: IPPO and MAPPO here, HAPPO's sequential actors in happo/.

Notation: ``i`` is an agent, ``B`` the rows of a minibatch (an environment's
step), ``N`` the agents. Agent i's entries count only where it was alive.

One update learns from one rollout (``tf_maddpg.storage.rollout``):

1. the log-probabilities of the rollout's actions and the values of every
   state, with the weights that acted (one compiled call);
2. the rewards the agents learn from (``team_reward``: every member of a team
   gets the team's sum), GAE (float64 NumPy) with the de-normalised values;
   advantages standardised per actor network (``advantage_norm``);
3. ``epochs`` passes over the rollout's steps, shuffled and cut into
   ``num_minibatches`` minibatches, one gradient step each for every actor and
   critic; every step of the update runs in one compiled call
   (``compile_epochs``, XLA with ``jit_compile``). Each step first moves the value normaliser's statistics
   with its minibatch's value targets and normalises them (``value_norm``,
   ``value_norm_update='minibatch'``, as the MAPPO repository and HARL; with
   'rollout' the statistics move once, in step 2). Then:

   * actor: ``-mean(min(rho A, clip(rho, 1-eps, 1+eps) A)) - entropy_coef * mean(H)``,
     ``rho = pi(a|o) / pi_old(a|o)``;
   * critic: ``value_coef * mean(max(h(R - V), h(R - V_clipped)))`` with
     ``V_clipped = V_old + clip(V - V_old, -value_clip, value_clip)`` and h the
     Huber loss (the larger of the two, as the MAPPO paper and code: the
     pessimistic bound).

   A network shared by a group of agents takes one mean over the rows of all
   its agents (the MAPPO repository flattens the agents into the batch). A
   team's critic (``team_critic``) is one such network: one V(s) whose
   value every member shares.
"""

from __future__ import annotations

import math
from typing import Dict, List, NamedTuple, Sequence

import keras
import numpy as np
import tensorflow as tf

from tf_maddpg.algorithms.ppo.config import PPOConfig
from tf_maddpg.algorithms.teams import teams_of
from tf_maddpg.envs.specs import AgentSpec
from tf_maddpg.networks.mlp import actor_preactivation_model
from tf_maddpg.networks.optimizers import TorchAdam
from tf_maddpg.networks.stochastic import (Group, Trunk, gaussian_head, make_stochastic_actors,
                                           make_value_critics, parameter_groups)
from tf_maddpg.seeding import RunSeeds
from tf_maddpg.storage.rollout import Rollout, gae

LOG_2PI = math.log(2.0 * math.pi)

XLA_MIN_ROWS = 1024
"""``jit_compile`` compiles the update with XLA only when a full round has at least this
many rows (``num_envs * episode_length``; the defaults' 3,200): the compile takes
seconds, which a smaller update does not earn back."""


class MiniBatch(NamedTuple):
    """The rows one gradient step learns from ([B, ...] each, float32)."""

    obs: tf.Tensor
    """[B, sum(obs_dims)] packed observations (also the global state)."""
    actions: tf.Tensor
    """[B, sum(action_dims)] the sampled actions (one-hot, or the unclipped sample)."""
    old_log_probs: tf.Tensor
    """[B, N] log pi_old(a_i | o_i)."""
    advantages: tf.Tensor
    """[B, N] (standardised) advantages."""
    returns: tf.Tensor
    """[B, N] value targets: de-normalised (the reward's units) into the compiled
    step, which normalises them; in the critic's (normalised) units in ``losses``."""
    old_values: tf.Tensor
    """[B, N] the critic's outputs when the rollout was played."""
    mask: tf.Tensor
    """[B, N] 1 where the agent was alive."""
    factor: tf.Tensor
    """[B, N] multiplies each agent's surrogate (HAPPO's product of ratios; else 1)."""


class ValueNormalizer:
    """Running mean and variance of each critic network's targets (the MAPPO
    repository's ValueNorm: debiased exponential averages, beta 0.99999, the
    variance floored at 1e-2), kept as variables for checkpoints. Its methods
    are TensorFlow ops: they run eagerly or inside a compiled step."""

    def __init__(self, count: int, beta: float = 0.99999):
        self.beta = beta
        self.mean = tf.Variable(np.zeros(count), dtype=tf.float64, trainable=False)
        self.mean_sq = tf.Variable(np.zeros(count), dtype=tf.float64, trainable=False)
        self.debias = tf.Variable(np.zeros(count), dtype=tf.float64, trainable=False)

    def update(self, index: int, values, weights) -> None:
        """Moves network ``index``'s statistics towards the weighted mean of ``values``
        (the rows where ``weights`` is 1); no rows move nothing."""
        values, weights = tf.cast(values, tf.float64), tf.cast(weights, tf.float64)
        rows = tf.reduce_sum(weights)
        b = tf.where(rows > 0, tf.constant(self.beta, tf.float64), tf.constant(1.0, tf.float64))
        rows = tf.maximum(rows, 1.0)
        for var, stat in ((self.mean, tf.reduce_sum(values * weights) / rows),
                          (self.mean_sq, tf.reduce_sum(tf.square(values) * weights) / rows)):
            var[index].assign(var[index] * b + stat * (1.0 - b))
        self.debias[index].assign(self.debias[index] * b + (1.0 - b))

    def stats(self, index: int):
        """(mean, std) of network ``index``, float64 scalars."""
        debias = tf.maximum(self.debias[index], 1e-5)
        mean = self.mean[index] / debias
        var = tf.maximum(self.mean_sq[index] / debias - tf.square(mean), 1e-2)
        return mean, tf.sqrt(var)


class PPOLearner:
    """Actors, critics, optimizers and the PPO update of every agent.

    Args:
      specs: one ``AgentSpec`` per agent, in the adapter's order.
      config: an IPPO or MAPPO configuration (``PPOConfig``).

    Attributes:
      actors, critics: one Keras model per agent (shared within a group).
      groups, critic_groups: the agents that share each actor and each critic
        (``team_critic``: a critic per team, else the actors' groups).
      teams: the teams (tuples of agent indices, ``algorithms.teams``).
      actor_optimizers, critic_optimizers: one Adam per network.
      value_norm: the critics' target statistics (``config.value_norm``).
    """

    def __init__(self, specs: Sequence[AgentSpec], config: PPOConfig):
        self.specs = tuple(specs)
        self.config = config
        self.obs_width = sum(s.obs_dim for s in self.specs)
        self.action_width = sum(s.action_dim for s in self.specs)
        self.groups = parameter_groups(self.specs, config.share_parameters)
        self.group_of = _index_of(self.groups, len(self.specs))
        self.teams = teams_of([s.name for s in self.specs], config.teams)
        self.team_of = _index_of([Group(t) for t in self.teams], len(self.specs))
        self.critic_groups = ([Group(t) for t in self.teams] if config.team_critic
                              else self.groups)
        self.critic_group_of = _index_of(self.critic_groups, len(self.specs))
        trunk = Trunk(tuple(config.hidden_sizes), config.input_norm, config.hidden_norm)
        self.actors = make_stochastic_actors(self.specs, self.groups, trunk, config.init_std)
        state = type(config).critic_input == "state"
        inputs = [self.obs_width if state else s.obs_dim for s in self.specs]
        self.critics = make_value_critics(self.specs, self.critic_groups, inputs, trunk,
                                          agent_ids=not config.team_critic)
        self._means = [a if s.discrete else actor_preactivation_model(a, s)
                       for a, s in zip(self.actors, self.specs)]
        # The models holding each group's weights: its first member's.
        self._leaders = [g.members[0] for g in self.groups]
        self._critic_leaders = [g.members[0] for g in self.critic_groups]
        self.actor_optimizers = [self._adam(config.actor_lr, self.actors[i])
                                 for i in self._leaders]
        self.critic_optimizers = [self._adam(config.critic_lr, self.critics[i])
                                  for i in self._critic_leaders]
        self.value_norm = ValueNormalizer(len(self.critic_groups))
        self.generator = tf.random.Generator.from_seed(RunSeeds(config.seed).integer("update_noise"))
        epochs = config.epochs
        # Every epoch's draw in one call: an eager draw costs about 0.5 ms, and a round
        # of 10 epochs spent 5 of its 71 ms of update on them (docs/benchmarks.md).
        self._epoch_draws = tf.function(
            lambda count: tf.stack([self.generator.uniform(tf.reshape(count, [1]))
                                    for _ in range(epochs)]),
            input_signature=[tf.TensorSpec([], tf.int32)], autograph=False)
        self._obs_split = [s.obs_dim for s in self.specs]
        self._action_split = [s.action_dim for s in self.specs]
        width = self.obs_width
        self._evaluate = tf.function(self.evaluate, input_signature=[
            tf.TensorSpec([None, width], tf.float32), tf.TensorSpec([None, width], tf.float32),
            tf.TensorSpec([None, self.action_width], tf.float32)])
        self._log_probs = tf.function(self.log_probs, input_signature=[
            tf.TensorSpec([None, width], tf.float32),
            tf.TensorSpec([None, self.action_width], tf.float32)])
        self.minibatch_signature = MiniBatch(
            tf.TensorSpec([None, width], tf.float32),
            tf.TensorSpec([None, self.action_width], tf.float32),
            *(tf.TensorSpec([None, len(self.specs)], tf.float32) for _ in range(6)))
        every_group = range(len(self.groups))
        self._step = self.compile_step(critics=True, actor_groups=every_group)
        self._epochs = self.compile_epochs(critics=True, actor_groups=every_group)

    @property
    def round_rows(self) -> int:
        """The rows of a full round: ``num_envs`` environments x ``episode_length`` steps."""
        return self.config.num_envs * self.config.episode_length

    def _adam(self, learning_rate: float, model: keras.Model) -> TorchAdam:
        optimizer = TorchAdam(learning_rate=learning_rate, epsilon=self.config.adam_epsilon)
        optimizer.build(model.trainable_variables)
        return optimizer

    def checkpoint_objects(self) -> Dict[str, object]:
        """Everything that a checkpoint must hold to resume the learner exactly."""
        return dict(actors=[self.actors[i] for i in self._leaders],
                    critics=[self.critics[i] for i in self._critic_leaders],
                    actor_optimizers=self.actor_optimizers,
                    critic_optimizers=self.critic_optimizers,
                    value_norm=[self.value_norm.mean, self.value_norm.mean_sq,
                                self.value_norm.debias],
                    update_noise=self.generator)

    # --- The losses (public so that each can be tested alone) -------------------------

    def log_probs_and_entropy(self, i: int, obs: tf.Tensor, actions: tf.Tensor):
        """Agent i's log pi(a|o) and entropy, [B] each, from packed observations and actions."""
        spec = self.specs[i]
        own_obs = tf.split(obs, self._obs_split, axis=-1)[i]
        action = tf.split(actions, self._action_split, axis=-1)[i]
        out = self._means[i](own_obs)
        if spec.discrete:
            log_p = tf.nn.log_softmax(out)
            return (tf.reduce_sum(action * log_p, -1),
                    -tf.reduce_sum(tf.exp(log_p) * log_p, -1))
        log_std = gaussian_head(self.actors[i]).log_std
        z = (action - out) * tf.exp(-log_std)
        log_prob = tf.reduce_sum(-0.5 * tf.square(z) - log_std - 0.5 * LOG_2PI, -1)
        entropy = tf.reduce_sum(0.5 + 0.5 * LOG_2PI + log_std) * tf.ones_like(log_prob)
        return log_prob, entropy

    def value(self, i: int, obs: tf.Tensor) -> tf.Tensor:
        """Agent i's critic output [B] (normalised units) from packed observations."""
        if type(self.config).critic_input == "state":
            return self.critics[i](obs)[:, 0]
        return self.critics[i](tf.split(obs, self._obs_split, axis=-1)[i])[:, 0]

    def values(self, obs: tf.Tensor) -> tf.Tensor:
        """Every agent's critic output [B, N]; a team's critic runs once for its members."""
        agents = range(len(self.specs))
        if not self.config.team_critic:
            return tf.stack([self.value(i, obs) for i in agents], -1)
        per_team = [self.value(group.members[0], obs) for group in self.critic_groups]
        return tf.stack([per_team[self.critic_group_of[i]] for i in agents], -1)

    def log_probs(self, obs: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
        """Every agent's log pi(a|o) [B, N] from packed observations and actions."""
        return tf.stack([self.log_probs_and_entropy(i, obs, actions)[0]
                         for i in range(len(self.specs))], -1)

    def evaluate(self, obs, next_obs, actions):
        """(log-probs [B, N], values [B, N], next values [B', N] of ``next_obs``'s B'
        rows): what the rollout's GAE and ratios start from."""
        return self.log_probs(obs, actions), self.values(obs), self.values(next_obs)

    def actor_terms(self, i: int, batch: MiniBatch):
        """Agent i's masked sums: (-sum of the clipped surrogates, sum of entropies, rows)."""
        log_prob, entropy = self.log_probs_and_entropy(i, batch.obs, batch.actions)
        mask = batch.mask[:, i]
        ratio = tf.exp(log_prob - batch.old_log_probs[:, i])
        advantage = batch.advantages[:, i]
        eps = self.config.clip_ratio
        surrogate = tf.minimum(ratio * advantage,
                               tf.clip_by_value(ratio, 1.0 - eps, 1.0 + eps) * advantage)
        surrogate = surrogate * batch.factor[:, i]
        return (-tf.reduce_sum(surrogate * mask), tf.reduce_sum(entropy * mask),
                tf.reduce_sum(mask))

    def critic_terms(self, i: int, batch: MiniBatch, value: tf.Tensor = None):
        """Agent i's masked sums: (sum of value losses, rows). ``value``: its critic's
        output [B] on ``batch.obs``, where already computed."""
        config = self.config
        value = self.value(i, batch.obs) if value is None else value
        loss = self._value_error(batch.returns[:, i] - value)
        if config.value_clip is not None:
            old = batch.old_values[:, i]
            clipped = old + tf.clip_by_value(value - old, -config.value_clip, config.value_clip)
            loss = tf.maximum(loss, self._value_error(batch.returns[:, i] - clipped))
        mask = batch.mask[:, i]
        return tf.reduce_sum(loss * mask), tf.reduce_sum(mask)

    def _value_error(self, error):
        delta = self.config.huber_delta
        if delta is None:
            return 0.5 * tf.square(error)
        small = tf.abs(error) <= delta
        return tf.where(small, 0.5 * tf.square(error), delta * (tf.abs(error) - 0.5 * delta))

    def losses(self, batch: MiniBatch, actor_groups: Sequence[int] = None,
               critics: bool = True):
        """Each network's loss and each agent's reported losses; ``batch.returns`` in the
        critic's (normalised) units.

        Args:
          batch: the minibatch.
          actor_groups: the actor groups whose losses to build (default: all).
          critics: whether to build the critics' losses.

        Returns:
          (actor_losses {group: tensor}, critic_losses {critic group: tensor},
          per-agent {"loss/actor/<agent>", "loss/critic/<agent>": tensor}).
        """
        config = self.config
        groups = range(len(self.groups)) if actor_groups is None else actor_groups
        actor_losses, critic_losses, per_agent = {}, {}, {}
        for g in groups:
            policy_sum = entropy_sum = rows = 0.0
            for i in self.groups[g].members:
                p, e, count = self.actor_terms(i, batch)
                per_agent[("actor", i)] = (p - config.entropy_coef * e) / tf.maximum(count, 1.0)
                policy_sum, entropy_sum, rows = policy_sum + p, entropy_sum + e, rows + count
            actor_losses[g] = ((policy_sum - config.entropy_coef * entropy_sum)
                               / tf.maximum(rows, 1.0))
        for c, group in enumerate(self.critic_groups if critics else ()):
            value_sum = rows = 0.0
            value = self.value(group.members[0], batch.obs) if config.team_critic else None
            for i in group.members:
                v, count = self.critic_terms(i, batch, value)
                per_agent[("critic", i)] = config.value_coef * v / tf.maximum(count, 1.0)
                value_sum, rows = value_sum + v, rows + count
            critic_losses[c] = config.value_coef * value_sum / tf.maximum(rows, 1.0)
        report = {f"loss/{kind}/{s.name}": per_agent[(kind, i)]
                  for i, s in enumerate(self.specs) for kind in ("actor", "critic")
                  if (kind, i) in per_agent}
        return actor_losses, critic_losses, report

    # --- The compiled step --------------------------------------------------------------

    def normalized_returns(self, batch: MiniBatch, update: bool) -> tf.Tensor:
        """The batch's value targets [B, N] in the critics' units; ``update`` first moves
        each critic's normaliser statistics with its rows' targets (``value_norm``)."""
        if not self.config.value_norm:
            return batch.returns
        columns = [None] * len(self.specs)
        for c, group in enumerate(self.critic_groups):
            members = list(group.members)
            returns = tf.gather(batch.returns, members, axis=1)
            if update:
                self.value_norm.update(c, returns, tf.gather(batch.mask, members, axis=1))
            mean, std = self.value_norm.stats(c)
            normalized = tf.cast((tf.cast(returns, tf.float64) - mean) / std, tf.float32)
            for k, i in enumerate(members):
                columns[i] = normalized[:, k]
        return tf.stack(columns, -1)

    def compile_step(self, critics: bool, actor_groups: Sequence[int]):
        """One compiled gradient step of the critics (if ``critics``) and of the actors
        of ``actor_groups`` on a ``MiniBatch``; returns the per-agent losses before the
        step."""
        return tf.function(self._step_function(critics, actor_groups),
                           input_signature=[self.minibatch_signature], autograph=False)

    def compile_epochs(self, critics: bool, actor_groups: Sequence[int]):
        """Every minibatch step of an update in one compiled call (XLA with
        ``jit_compile``, for rounds of ``XLA_MIN_ROWS`` rows or more):
        ``epochs(rows, index, valid)`` takes every row of the update
        (a ``MiniBatch``) and the plan of ``minibatch_plan``, runs the step of
        ``compile_step`` on each minibatch in turn (a ``tf.while_loop``) and returns
        each per-agent loss summed over the steps, as float64."""
        step = self._step_function(critics, actor_groups)
        names = [s.name for s in self.specs]
        keys = [f"loss/actor/{names[i]}" for g in actor_groups for i in self.groups[g].members]
        keys += [f"loss/critic/{n}" for n in names] if critics else []

        def epochs(rows: MiniBatch, index, valid):
            def body(s, sums):
                batch = MiniBatch(*(tf.gather(x, index[s]) for x in rows))
                report = step(batch._replace(mask=batch.mask * valid[s][:, None]))
                return s + 1, {k: sums[k] + tf.cast(report[k], tf.float64) for k in keys}

            zeros = {k: tf.constant(0.0, tf.float64) for k in keys}
            _, sums = tf.while_loop(lambda s, _: s < tf.shape(index)[0], body,
                                    (tf.constant(0), zeros))
            return sums

        return tf.function(epochs, input_signature=[
            self.minibatch_signature, tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([None, None], tf.float32)], autograph=False,
            jit_compile=self.config.jit_compile and self.round_rows >= XLA_MIN_ROWS)

    def _step_function(self, critics: bool, actor_groups: Sequence[int]):
        """The Python function of one gradient step (what ``compile_step`` compiles)."""
        actor_groups = tuple(actor_groups)
        every_minibatch = self.config.value_norm_update == "minibatch"

        def step(batch: MiniBatch):
            if critics:
                batch = batch._replace(returns=self.normalized_returns(batch, every_minibatch))
            with tf.GradientTape(persistent=True) as tape:
                actor_losses, critic_losses, report = self.losses(batch, actor_groups, critics)
            for g in actor_groups:
                model = self.actors[self._leaders[g]]
                self._apply(tape, actor_losses[g], model, self.actor_optimizers[g])
            for c in critic_losses:
                model = self.critics[self._critic_leaders[c]]
                self._apply(tape, critic_losses[c], model, self.critic_optimizers[c])
            del tape
            return report

        return step

    def _apply(self, tape, loss, model: keras.Model, optimizer) -> None:
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
        if self.config.max_grad_norm is not None:
            grads, _ = tf.clip_by_global_norm(grads, self.config.max_grad_norm)
        optimizer.apply(grads, variables)

    # --- One update from a rollout ------------------------------------------------------

    def prepare(self, rollout: Rollout) -> Dict[str, np.ndarray]:
        """The rollout's rows with log-probs, old values, advantages and value targets
        (steps 1 and 2 of the module docstring; the targets de-normalised); rows where
        no agent acted are dropped."""
        config = self.config
        shape = rollout.valid("rewards").shape  # [T, E, N]
        flat = {k: rollout.valid(k).reshape(shape[0] * shape[1], -1)
                for k in ("obs", "next_obs", "actions", "alive")}
        # Within a round, the state after step t is the state of step t + 1: only the last
        # step's next states need the critics (a rollout stored otherwise gets them all).
        obs, next_obs = rollout.valid("obs"), rollout.valid("next_obs")
        chained = np.array_equal(next_obs[:-1], obs[1:])
        log_probs, values, next_values = (x.numpy() for x in self._evaluate(
            flat["obs"], next_obs[-1] if chained else flat["next_obs"], flat["actions"]))
        log_probs, values = log_probs.reshape(shape), values.reshape(shape)
        next_values = (np.concatenate([values[1:], next_values[None]]) if chained
                       else next_values.reshape(shape))
        real_values, real_next = self._denormalize(values), self._denormalize(next_values)
        rewards = self.learning_rewards(rollout.valid("rewards"), rollout.valid("alive"))
        advantages, returns = gae(rewards, real_values, real_next,
                                  rollout.valid("terminated"), rollout.valid("truncated"),
                                  rollout.valid("alive"), config.gamma, config.gae_lambda)
        mask = flat["alive"].astype(np.float64)
        keep = flat["alive"].any(axis=1)
        rows = {"obs": flat["obs"], "actions": flat["actions"],
                "old_log_probs": log_probs.reshape(mask.shape),
                "advantages": advantages.reshape(mask.shape),
                "returns": returns.reshape(mask.shape),
                "old_values": values.reshape(mask.shape), "mask": mask}
        rows = {k: v[keep] for k, v in rows.items()}
        if config.value_norm and config.value_norm_update == "rollout":
            for c, group in enumerate(self.critic_groups):
                members = list(group.members)
                self.value_norm.update(c, rows["returns"][:, members], rows["mask"][:, members])
        if config.advantage_norm:
            self._standardize_advantages(rows)
        rows["factor"] = np.ones_like(rows["mask"])
        return {k: v.astype(np.float32) for k, v in rows.items()}

    def learning_rewards(self, rewards: np.ndarray, alive: np.ndarray) -> np.ndarray:
        """The rewards [T, E, N] the agents learn from (``team_reward``): each member of a
        team gets the sum (or mean) of its alive members' rewards, or each its own."""
        rewards = np.asarray(rewards, np.float64)
        if self.config.team_reward == "own":
            return rewards
        out = np.empty_like(rewards)
        for team in self.teams:
            members = list(team)
            alive_rewards = np.where(alive[..., members], rewards[..., members], 0.0)
            team_reward = alive_rewards.sum(-1, keepdims=True)
            if self.config.team_reward == "mean":
                team_reward = team_reward / np.maximum(alive[..., members].sum(-1, keepdims=True), 1)
            out[..., members] = team_reward
        return out

    def _denormalize(self, values: np.ndarray) -> np.ndarray:
        values = values.astype(np.float64)
        if not self.config.value_norm:
            return values
        out = np.empty_like(values)
        for i, c in enumerate(self.critic_group_of):
            mean, std = (float(x) for x in self.value_norm.stats(c))
            out[..., i] = values[..., i] * std + mean
        return out

    def _standardize_advantages(self, rows: dict) -> None:
        advantages, mask = rows["advantages"], rows["mask"] > 0
        for group in self.groups:
            members = list(group.members)
            values = advantages[:, members][mask[:, members]]
            if values.size:
                advantages[:, members] = (advantages[:, members] - values.mean()) / (
                    values.std() + 1e-5)
        rows["advantages"] = np.where(mask, advantages, 0.0)

    def minibatches(self, count: int, draw: np.ndarray = None) -> List[np.ndarray]:
        """A shuffled split of ``count`` rows into ``num_minibatches`` index arrays, by
        the order of ``draw``: the generator's ``uniform([count])`` (drawn here if None)."""
        draw = self.generator.uniform([count]).numpy() if draw is None else draw
        order = np.argsort(draw, kind="stable")
        return np.array_split(order, min(self.config.num_minibatches, count))

    def minibatch_plan(self, count: int, size: int = 0):
        """The minibatches of every epoch of one update, as ``compile_epochs`` takes them:
        (index [steps, size] int32, valid [steps, size] float32). Each epoch is
        ``minibatches(count)`` (its draw made with every epoch's in one compiled call: the
        same numbers in the same order, the draws being ordered on the generator's
        state); a minibatch shorter than ``size`` (at least the longest) is padded with
        row 0 at ``valid`` 0, which its losses and statistics leave out."""
        splits = [m for draw in self._epoch_draws(count).numpy()
                  for m in self.minibatches(count, draw)]
        size = max([size] + [len(m) for m in splits])
        index = np.zeros((len(splits), size), np.int32)
        valid = np.zeros((len(splits), size), np.float32)
        for s, m in enumerate(splits):
            index[s, :len(m)], valid[s, :len(m)] = m, 1.0
        return index, valid

    def update_packed(self, rollout: Rollout) -> Dict[str, float]:
        """One PPO update of every agent from ``rollout``; returns the mean losses."""
        rows = self.prepare(rollout)
        return self.train(rows)

    def train(self, rows: Dict[str, np.ndarray]) -> Dict[str, float]:
        """Step 3: epochs of minibatch steps of every actor and critic, in one call."""
        return self.run_epochs(self._epochs, rows)

    def run_epochs(self, epochs, rows: Dict[str, np.ndarray]) -> Dict[str, float]:
        """Runs ``epochs`` (a ``compile_epochs`` function) on ``rows`` with a new
        ``minibatch_plan``; returns the mean per-agent losses.

        A rollout shorter than a full round (the last round before an evaluation
        or the end, agents gone) is padded to a full round's rows and minibatches,
        rows that no minibatch holds: every update has the same shapes, so XLA
        compiles once per run."""
        count = len(rows["mask"])
        full = max(count, self.round_rows)
        minibatches = min(self.config.num_minibatches, full)
        index, valid = self.minibatch_plan(count, size=-(-full // minibatches))
        if full > count:
            rows = {k: np.concatenate([v, np.zeros((full - count,) + v.shape[1:], v.dtype)])
                    for k, v in rows.items()}
        sums = epochs(MiniBatch(**rows), index, valid)
        return {k: float(v) / len(index) for k, v in sums.items()}


def _index_of(groups: Sequence[Group], count: int) -> List[int]:
    """For each of ``count`` agents, the index of the group holding it."""
    return [next(g for g, group in enumerate(groups) if i in group.members)
            for i in range(count)]

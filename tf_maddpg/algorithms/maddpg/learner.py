"""The MADDPG update: every agent's critic, actor and targets in one compiled call.

Notation: ``i`` is the agent being updated, ``j`` any agent; ``B`` the batch
size. Critic inputs are ``[obs_1..obs_N, act_1..act_N]`` concatenated. An
agent that is not alive in a transition is zeros in every critic input and
its own losses skip that transition.

The switches of ``MADDPGConfig`` that shape the update:

* ``update_order``: 'sequential' steps agent by agent, critic then actor, so
  that agent i's actor loss goes through its new critic and the already
  stepped actors j < i; 'simultaneous' takes every gradient from the
  pre-update weights, then steps.
* ``target_update``: 'after_all' soft-updates every target once, at the end
  of the update; 'per_agent' (openai/maddpg) soft-updates agent i's target
  actor and target critic right after agent i's critic and actor steps, so
  the critic targets of agents i + 1.. already use agent i's new target actor.
* ``grad_clip`` (when ``max_grad_norm`` is set): 'global_norm' scales one
  network's gradients together so that their global norm is at most
  ``max_grad_norm`` (``tf.clip_by_global_norm``); 'per_tensor'
  (openai/maddpg) clips each gradient tensor to that norm on its own
  (``tf.clip_by_norm``).
* ``own_action``: a Discrete agent's own action in its actor loss is the
  straight-through Gumbel-softmax sample ('straight_through': one-hot,
  epsilon rows included, with the soft sample's gradient) or the soft
  Gumbel-softmax sample itself ('soft', openai/maddpg; no epsilon). Box
  agents use their actor's action either way.
* ``target_actions`` and ``other_actions``: see ``critic_loss`` and ``actor_loss``.
"""

from __future__ import annotations

from typing import Callable, Dict, NamedTuple, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

from tf_maddpg.algorithms.batches import batch_signature, masked_mean
from tf_maddpg.algorithms.maddpg.config import MADDPGConfig
from tf_maddpg.networks.distributions import (epsilon_onehot, gumbel_softmax_hard,
                                     gumbel_softmax_sample, squash_to_bounds)
from tf_maddpg.networks.mlp import actor_preactivation_model, make_actor, make_critic
from tf_maddpg.networks.optimizers import TorchAdam
from tf_maddpg.envs.specs import AgentSpec
from tf_maddpg.seeding import RunSeeds
from tf_maddpg.storage.replay import Batch, TransitionLayout


class ActionNoise(NamedTuple):
    """The random numbers behind one agent's relaxed or epsilon-greedy action.

    Attributes:
      uniform: [B, action_dim] Uniform(0, 1), turned into Gumbel noise.
      explore: [B] Uniform(0, 1); a row takes ``random_action`` when it is
        <= epsilon.
      random_action: [B] int32 in [0, action_dim).
    """

    uniform: tf.Tensor
    explore: tf.Tensor
    random_action: tf.Tensor


class UpdateNoise(NamedTuple):
    """All the noise of one update, so that a test can fix it.

    ``target[i][j]`` is agent j's noise for its target action in agent i's
    critic loss; ``actor[i][j]`` is agent j's noise for its action in agent
    i's actor loss.
    """

    target: Tuple[Tuple[ActionNoise, ...], ...]
    actor: Tuple[Tuple[ActionNoise, ...], ...]


class CompiledUpdate(NamedTuple):
    """One update compiled three ways, each with a fixed input signature."""

    with_noise: Callable
    """(batch, noise) -> losses: the noise given (exact tests)."""
    fresh_noise: Callable
    """batch -> losses: the noise drawn from the learner's generator."""
    packed: Callable
    """rows [B, layout.width] -> losses: the training loop's path."""


def noise_signature(specs: Sequence[AgentSpec]) -> UpdateNoise:
    """The ``tf.TensorSpec`` of every field of an ``UpdateNoise``."""
    row = tuple(ActionNoise(uniform=tf.TensorSpec([None, s.action_dim], tf.float32),
                            explore=tf.TensorSpec([None], tf.float32),
                            random_action=tf.TensorSpec([None], tf.int32)) for s in specs)
    return UpdateNoise(target=(row,) * len(specs), actor=(row,) * len(specs))


class MADDPGLearner:
    """Actors, critics, their targets and optimizers, and the update that trains them.

    Args:
      specs: one ``AgentSpec`` per agent, in the adapter's order.
      config: the hyperparameters.

    Attributes:
      actors, critics, target_actors, target_critics: one Keras model per agent.
      actor_optimizers, critic_optimizers: one Adam per network (PyTorch's
        epsilon placement, see ``TorchAdam``).
    """

    def __init__(self, specs: Sequence[AgentSpec], config: MADDPGConfig):
        self.specs = tuple(specs)
        self.config = config
        hidden = config.hidden_sizes
        self.actors = [make_actor(s, hidden, f"actor_{s.name}") for s in self.specs]
        self.critics = [make_critic(self.specs, hidden, f"critic_{s.name}") for s in self.specs]
        self.target_actors = [make_actor(s, hidden, f"target_actor_{s.name}") for s in self.specs]
        self.target_critics = [make_critic(self.specs, hidden, f"target_critic_{s.name}")
                               for s in self.specs]
        for online, target in zip(self.actors + self.critics,
                                  self.target_actors + self.target_critics):
            target.set_weights(online.get_weights())
        self._actor_pre = [actor_preactivation_model(a, s) for a, s in zip(self.actors, self.specs)]
        self.actor_optimizers = [self._adam(config.actor_lr, a) for a in self.actors]
        self.critic_optimizers = [self._adam(config.critic_lr, c) for c in self.critics]
        self.generator = tf.random.Generator.from_seed(RunSeeds(config.seed).integer("update_noise"))

        self.layout = TransitionLayout(self.specs)
        self.batch_signature = batch_signature(self.specs)
        self.noise_signature = self._noise_signature()
        self._full_update = self._compile(update_actors=True)

    def _compile(self, update_actors: bool):
        """The compiled update: with given noise, with fresh noise, and on packed rows.

        Each has a fixed input signature, so it traces once whatever the batch size.
        """
        step = tf.function(lambda batch, noise: self._update_step(batch, noise, update_actors),
                           jit_compile=self.config.jit_compile, autograph=False,
                           input_signature=[self.batch_signature, self.noise_signature])
        sample_and_step = tf.function(
            lambda batch: step(batch, self.sample_noise(tf.shape(batch.rewards[0])[0])),
            input_signature=[self.batch_signature], autograph=False)
        # The training loop's path: one packed array in, one call (see ReplayBuffer).
        packed_step = tf.function(
            lambda rows: step(self.layout.split(rows), self.sample_noise(tf.shape(rows)[0])),
            input_signature=[tf.TensorSpec([None, self.layout.width], tf.float32)],
            autograph=False)
        return CompiledUpdate(step, sample_and_step, packed_step)

    def checkpoint_objects(self) -> Dict[str, object]:
        """Everything that a checkpoint must hold to resume the learner exactly."""
        return dict(actors=self.actors, critics=self.critics, target_actors=self.target_actors,
                    target_critics=self.target_critics, actor_optimizers=self.actor_optimizers,
                    critic_optimizers=self.critic_optimizers, update_noise=self.generator)

    def _adam(self, learning_rate: float, model: keras.Model) -> keras.optimizers.Optimizer:
        optimizer = TorchAdam(learning_rate=learning_rate, epsilon=self.config.adam_epsilon)
        optimizer.build(model.trainable_variables)
        return optimizer

    # --- Public entry points ---------------------------------------------------------

    def update(self, batch: Batch) -> Dict[str, float]:
        """One update of every agent with fresh noise; returns the losses.

        Returns:
          ``{"loss/critic/<agent>": float, "loss/actor/<agent>": float, ...}``.
        """
        return self._losses(self._next_update().fresh_noise(batch))

    def update_packed(self, rows: np.ndarray) -> Dict[str, float]:
        """``update`` on packed transitions [B, layout.width] (``ReplayBuffer.sample_packed``).

        The same update as ``update(layout.split(rows))``, in one call with
        one array: handing a compiled function one array instead of one per
        agent and field saves about a millisecond a call.
        """
        return self._losses(self._next_update().packed(rows))

    def update_with_noise(self, batch: Batch, noise: UpdateNoise) -> Dict[str, float]:
        """One update of every agent with the given noise (for exact tests)."""
        return self._losses(self._next_update().with_noise(batch, noise))

    def _next_update(self) -> "CompiledUpdate":
        """The compiled update that the next call runs (MATD3 alternates two)."""
        return self._full_update

    @staticmethod
    def _losses(outputs) -> Dict[str, float]:
        return {k: float(v) for k, v in outputs.items()}

    def _noise_signature(self):
        return noise_signature(self.specs)

    def sample_noise(self, batch_size) -> UpdateNoise:
        """Draws an update's noise from ``self.generator``."""
        return UpdateNoise(*(
            tuple(tuple(self._action_noise(batch_size, s) for s in self.specs)
                  for _ in self.specs)
            for _ in range(2)))

    def numpy_noise(self, batch_size: int, rng: np.random.Generator) -> UpdateNoise:
        """Draws an update's noise with NumPy (tests and cross-framework checks)."""
        def draw(spec):
            return ActionNoise(
                rng.uniform(size=(batch_size, spec.action_dim)).astype(np.float32),
                rng.uniform(size=batch_size).astype(np.float32),
                rng.integers(0, spec.action_dim, size=batch_size).astype(np.int32))
        return UpdateNoise(*(tuple(tuple(draw(s) for s in self.specs) for _ in self.specs)
                             for _ in range(2)))

    # --- Losses (public so that each can be tested alone) ------------------------------

    def critic_loss(self, i: int, batch: Batch, target_noise: Sequence[ActionNoise],
                    target_outputs: Sequence[tf.Tensor] | None = None) -> tf.Tensor:
        """Agent i's TD loss: masked mean of (Q_i(x, a) - y)^2.

        y = r_i + gamma * (1 - terminated_i) * Q'_i(x', a'), with a'_j from the
        target actors: Box, the target actor's action; Discrete, the one-hot
        argmax of its logits with epsilon rows (``target_actions='argmax'``) or
        the soft Gumbel-softmax sample (``'gumbel'``). Truncated transitions
        are not terminated: they bootstrap.
        ``target_outputs`` (each target actor on its next observations) may be
        given to share that forward pass between the agents' losses.
        """
        if target_outputs is None:
            target_outputs = self._target_outputs(batch)
        next_alive = [a * (1.0 - t) for a, t in zip(batch.alive, batch.terminated)]  # [B] each
        next_actions = [self._target_action(j, target_outputs[j], target_noise[j])
                        for j in range(len(self.specs))]
        q_next = self._q(self.target_critics[i], batch.next_obs, next_actions, next_alive)  # [B]
        y = batch.rewards[i] + self.config.gamma * (1.0 - batch.terminated[i]) * q_next
        q = self._q(self.critics[i], batch.obs, batch.actions, batch.alive)
        return masked_mean(tf.square(q - tf.stop_gradient(y)), batch.alive[i])

    def actor_loss(self, i: int, batch: Batch, actor_noise: Sequence[ActionNoise]) -> tf.Tensor:
        """Agent i's policy loss: -masked mean of Q_i(x, a_1..mu_i(o_i)..a_N) + logits_l2 term.

        Agent i's action (Discrete) is, with ``own_action='straight_through'``,
        the straight-through Gumbel-softmax sample: the one-hot of the soft
        sample (a random row w.p. epsilon) with the soft sample's gradient;
        with ``own_action='soft'``, the soft Gumbel-softmax sample
        softmax((logits + g) / temperature) itself, which no epsilon touches.
        Box: its actor's output. The other agents' actions follow
        ``other_actions``: 'current' (their current actors, one-hot argmax
        with epsilon for Discrete ones) or 'batch' (the replay batch's). The
        regulariser is on the raw outputs before the relaxation or squashing.
        """
        spec, noise = self.specs[i], actor_noise[i]
        raw = self._actor_pre[i](batch.obs[i])  # [B, A_i] logits or pre-tanh values
        if spec.discrete and self.config.own_action == "soft":
            own_action = gumbel_softmax_sample(raw, noise.uniform, self.config.gumbel_temperature)
        elif spec.discrete:
            own_action = gumbel_softmax_hard(raw, noise.uniform, noise.explore, noise.random_action,
                                             self.config.gumbel_temperature, self.config.epsilon)
        else:
            own_action = squash_to_bounds(raw, spec.low, spec.high)
        actions = []
        for j in range(len(self.specs)):
            if j == i:
                actions.append(own_action)
            elif self.config.other_actions == "batch":
                actions.append(batch.actions[j])
            else:
                actions.append(self._current_action(j, batch.obs[j], actor_noise[j]))
        q = self._q(self.critics[i], batch.obs, actions, batch.alive)
        regulariser = masked_mean(tf.reduce_mean(tf.square(raw), axis=-1), batch.alive[i])
        return -masked_mean(q, batch.alive[i]) + self.config.logits_l2 * regulariser

    # --- The compiled update ------------------------------------------------------------

    def _update_step(self, batch: Batch, noise, update_actors: bool = True) -> Dict[str, tf.Tensor]:
        """Every agent's critic, then (``update_actors``) its actor, and the targets.

        The targets move once at the end ('after_all') or agent i's right
        after agent i's steps ('per_agent'); a critics-only update
        (``update_actors=False``, MATD3's delayed updates) moves none.
        """
        losses = {}
        n = len(self.specs)
        # Each target actor on its next observations, shared by every critic loss.
        # With 'after_all' (and in a critics-only update) the target actors do not
        # change until the end of the update: one forward each.
        targets = self._target_outputs(batch)
        if not update_actors:
            for i in range(n):
                losses.update(self._apply_critic(i, *self._critic_grads(i, batch, noise, targets)))
            return losses
        per_agent = self.config.target_update == "per_agent"
        if self.config.update_order == "sequential":
            # Both references: agent by agent, critic then actor; agent i's actor
            # loss goes through its new critic and the already updated actors j < i.
            for i in range(n):
                losses.update(self._apply_critic(i, *self._critic_grads(i, batch, noise, targets)))
                losses.update(self._apply_actor(i, *self._actor_grads(i, batch, noise)))
                if per_agent:
                    # openai/maddpg: agent i's targets move now, and the critic
                    # losses of agents i + 1.. see agent i's new target actor.
                    self._soft_update_targets([i])
                    if i + 1 < n:
                        targets = list(targets)
                        targets[i] = self.target_actors[i](batch.next_obs[i])
        else:
            # Every gradient from the pre-update weights, then every step.
            critic_grads = [self._critic_grads(i, batch, noise, targets) for i in range(n)]
            actor_grads = [self._actor_grads(i, batch, noise) for i in range(n)]
            for i in range(n):
                losses.update(self._apply_critic(i, *critic_grads[i]))
                losses.update(self._apply_actor(i, *actor_grads[i]))
        if not per_agent:
            self._soft_update_targets(range(n))
        return losses

    def _critic_networks(self, i):
        """Agent i's critic networks and their optimizers: [(model, optimizer), ...]."""
        return [(self.critics[i], self.critic_optimizers[i])]

    def _target_pairs(self, agents: Sequence[int]):
        """(online, target) model pairs of ``agents`` that the soft update moves."""
        return ([(self.actors[i], self.target_actors[i]) for i in agents]
                + [(self.critics[i], self.target_critics[i]) for i in agents])

    def _critic_grads(self, i, batch, noise, targets):
        variables = [v for model, _ in self._critic_networks(i) for v in model.trainable_variables]
        with tf.GradientTape() as tape:
            loss = self._critic_loss_with_noise(i, batch, noise, targets)
        return loss, tape.gradient(loss, variables)

    def _critic_loss_with_noise(self, i, batch, noise, targets):
        """Agent i's critic loss with its part of an update's noise."""
        return self.critic_loss(i, batch, noise.target[i], targets)

    def _actor_grads(self, i, batch, noise):
        with tf.GradientTape() as tape:
            loss = self.actor_loss(i, batch, noise.actor[i])
        return loss, tape.gradient(loss, self.actors[i].trainable_variables)

    def _apply_critic(self, i, loss, grads):
        start = 0
        for model, optimizer in self._critic_networks(i):  # each network clipped on its own
            count = len(model.trainable_variables)
            self._apply(optimizer, model, grads[start: start + count])
            start += count
        return {f"loss/critic/{self.specs[i].name}": loss}

    def _apply_actor(self, i, loss, grads):
        self._apply(self.actor_optimizers[i], self.actors[i], grads)
        return {f"loss/actor/{self.specs[i].name}": loss}

    def _apply(self, optimizer, model, grads):
        """One optimizer step of ``model`` with its gradients, clipped as ``grad_clip`` says."""
        max_norm = self.config.max_grad_norm
        if max_norm is not None and self.config.grad_clip == "per_tensor":
            grads = [tf.clip_by_norm(g, max_norm) for g in grads]  # each tensor on its own
        elif max_norm is not None:
            grads, _ = tf.clip_by_global_norm(grads, max_norm)  # one norm over the network
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

    def _soft_update_targets(self, agents: Sequence[int]):
        """target <- (1 - tau) target + tau online, for every target network of ``agents``."""
        tau = self.config.tau
        for online, target in self._target_pairs(agents):
            for t, s in zip(target.weights, online.weights):
                t.assign(t * (1.0 - tau) + s * tau)

    # --- Pieces --------------------------------------------------------------------------

    def _q(self, critic, obs, actions, alive) -> tf.Tensor:
        """Q [B] of the joint (obs, actions), with dead agents' entries zeroed."""
        masks = [m[:, None] for m in alive]
        joint = tf.concat([o * m for o, m in zip(obs, masks)]
                          + [a * m for a, m in zip(actions, masks)], axis=-1)
        return tf.squeeze(critic(joint), axis=-1)

    def _target_outputs(self, batch: Batch):
        return [actor(o) for actor, o in zip(self.target_actors, batch.next_obs)]

    def _target_action(self, j, out, noise: ActionNoise) -> tf.Tensor:
        if not self.specs[j].discrete:
            return out
        if self.config.target_actions == "gumbel":
            return gumbel_softmax_sample(out, noise.uniform, self.config.gumbel_temperature)
        return epsilon_onehot(out, noise.explore, noise.random_action, self.config.epsilon)

    def _current_action(self, j, obs, noise: ActionNoise) -> tf.Tensor:
        out = self.actors[j](obs)
        if not self.specs[j].discrete:
            return out
        return epsilon_onehot(out, noise.explore, noise.random_action, self.config.epsilon)

    def _action_noise(self, batch_size, spec: AgentSpec) -> ActionNoise:
        g = self.generator
        return ActionNoise(
            g.uniform([batch_size, spec.action_dim]),
            g.uniform([batch_size]),
            g.uniform([batch_size], 0, spec.action_dim, dtype=tf.int32))

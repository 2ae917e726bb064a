"""MATD3: MADDPG with TD3's twin critics, target policy smoothing and delayed updates.

Ackermann et al. 2019 (https://arxiv.org/abs/1910.01465) apply TD3's three
changes (Fujimoto et al. 2018, https://arxiv.org/abs/1802.09477) to every
agent of MADDPG:

* twin critics: agent i has two centralised critics Q1_i and Q2_i (and their
  targets); both regress to y = r_i + gamma (1 - terminated_i)
  min(Q1'_i, Q2'_i)(x', a'), and the actor follows Q1_i alone;
* target policy smoothing: clipped Gaussian noise,
  clip(target_noise * N(0, 1), -target_noise_clip, target_noise_clip),
  perturbs every target action a'_j, and the result is always an action the
  agent could take. A Box agent: the noise, in units of half the action's
  range, is added to its target actor's action, which is clipped back to the
  bounds (TD3). A Discrete agent: the noise is added to its target actor's
  logits, and the target action is formed from the noisy logits as in MADDPG
  (the one-hot argmax with epsilon rows, or the Gumbel-softmax sample with
  ``target_actions='gumbel'``): the critic is valued at the greedy action or,
  in some rows, at an action whose logit is within 2 * target_noise_clip of
  the greedy one: TD3's average over actions near the target action, over the
  only inputs a Discrete agent's critic is trained on (one-hot actions, or
  points of the simplex).

  Why not noise on the one-hot's entries (this learner's definition from
  2026-11-27 until the fix of issue 25): clipped to [0, 1], that noise can
  only raise the zero entries and only lower the one, so the smoothed target
  action leaves the simplex: its entries sum to 1 + 0.04 (A - 2) on average
  with the defaults (2.9 for simple_reference's 50 actions, 1.12 for 5), a
  point the critic never sees in training, where it extrapolates. Measured on
  simple_reference (seed 0, 16 environments, the defaults): at update 3,000
  (300k env steps) the target critic gave -52.9 at the smoothed target
  actions against -38.1 at the same one-hot actions (the twin minimum added
  only -0.3), a factor of 1.39 on every bootstrapped value: gamma 0.95 acted
  as 1.3, and Q fell geometrically, past the bound max|r| / (1 - gamma) by
  400k env steps and to about -1e10 by 2M (the actor loss, -Q, 2.4e10). With
  5 actions (simple_spread, update 9,000) the factor was 1.05, gamma an
  effective 1.0: the actor loss climbed from 6 at 0.5M to 56 at 2M and the
  return fell from -13.5 to -18.4. With the noise on the logits the same
  runs stay bounded (seed 0, 50 evaluation episodes): simple_reference scores
  -11.3 to -14.4 between 0.6M and 1M env steps, simple_spread -11.2 and
  simple_speaker_listener -8.9 at 1M, actor losses 6, 5 and 3
  (``tests/test_matd3_bound.py`` keeps the critics within the bound). No
  smoothing for Discrete agents scored about the same; HARL's Discrete target
  (a hard Gumbel-softmax sample of the target logits, no Gaussian noise) was
  bounded too but left speaker-listener at -15.9;
* delayed updates: the actors and every target move once per
  ``policy_delay`` critic updates (critics-only updates in between move no
  target). With ``target_update='per_agent'`` agent i's targets, its twin
  target critic with its first, move right after agent i's actor step in the
  updates that move the actors.

Everything else (networks, the update order, masks, noise handling, the
compiled update, checkpoints, acting, export) is ``MADDPGLearner``'s.
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Sequence, Tuple

import numpy as np
import tensorflow as tf

from tf_maddpg.storage.replay import Batch
from tf_maddpg.algorithms.matd3.config import MATD3Config
from tf_maddpg.algorithms.batches import masked_mean
from tf_maddpg.algorithms.maddpg.learner import ActionNoise, MADDPGLearner, noise_signature
from tf_maddpg.networks.mlp import make_critic
from tf_maddpg.envs.specs import AgentSpec


class MATD3Noise(NamedTuple):
    """All the noise of one MATD3 update: ``UpdateNoise``'s fields plus the smoothing.

    ``smoothing[i][j]`` is [B, action_dim_j] standard normal noise for agent
    j's target action in agent i's critic loss.
    """

    target: Tuple[Tuple[ActionNoise, ...], ...]
    actor: Tuple[Tuple[ActionNoise, ...], ...]
    smoothing: Tuple[Tuple[tf.Tensor, ...], ...]


class MATD3Learner(MADDPGLearner):
    """MADDPG's learner with twin critics, target policy smoothing and delayed updates.

    Args:
      specs: one ``AgentSpec`` per agent, in the adapter's order.
      config: a ``MATD3Config``.

    Attributes:
      critics2, target_critics2, critic2_optimizers: the twin critics, their
        targets and optimizers (``critics`` etc. hold the first of each pair).
    """

    def __init__(self, specs: Sequence[AgentSpec], config: MATD3Config):
        if not isinstance(config, MATD3Config):
            raise TypeError(f"MATD3Learner needs a MATD3Config, got {type(config).__name__}")
        super().__init__(specs, config)  # compiles functions; nothing traces before first use
        # Built after MADDPG's networks: for one seed, the actors and first critics
        # start where MADDPGLearner's do.
        hidden = config.hidden_sizes
        self.critics2 = [make_critic(self.specs, hidden, f"critic2_{s.name}") for s in self.specs]
        self.target_critics2 = [make_critic(self.specs, hidden, f"target_critic2_{s.name}")
                                for s in self.specs]
        for online, target in zip(self.critics2, self.target_critics2):
            target.set_weights(online.get_weights())
        self.critic2_optimizers = [self._adam(config.critic_lr, c) for c in self.critics2]
        self._critics_update = self._compile(update_actors=False)

    def checkpoint_objects(self) -> Dict[str, object]:
        """``MADDPGLearner``'s objects plus the twin critics, their targets and optimizers."""
        return dict(super().checkpoint_objects(), critics2=self.critics2,
                    target_critics2=self.target_critics2,
                    critic2_optimizers=self.critic2_optimizers)

    def actors_update_next(self) -> bool:
        """True when the next update also moves the actors and the targets.

        Critic update k (counted from 1 over the whole run, as the critic
        optimizers count their steps) does when k is a multiple of ``policy_delay``.
        """
        return (int(self.critic_optimizers[0].iterations) + 1) % self.config.policy_delay == 0

    def _next_update(self):
        return self._full_update if self.actors_update_next() else self._critics_update

    # --- Losses ------------------------------------------------------------------------

    def critic_loss(self, i: int, batch: Batch, target_noise: Sequence[ActionNoise],
                    target_outputs: Sequence[tf.Tensor] | None = None,
                    smoothing: Sequence[tf.Tensor] | None = None) -> tf.Tensor:
        """Agent i's twin TD losses, summed: L(Q1_i) + L(Q2_i) (TD3's convention).

        y = r_i + gamma (1 - terminated_i) min(Q1'_i, Q2'_i)(x', a'), a'_j the
        smoothed target actions; each loss is the masked mean of (Q_i(x, a) - y)^2.
        ``smoothing`` (one [B, action_dim_j] standard normal per agent) defaults
        to zeros: no smoothing.
        """
        if target_outputs is None:
            target_outputs = self._target_outputs(batch)
        if smoothing is None:
            smoothing = [tf.zeros_like(out) for out in target_outputs]
        next_alive = [a * (1.0 - t) for a, t in zip(batch.alive, batch.terminated)]  # [B] each
        next_actions = [self._smoothed_target_action(j, target_outputs[j], target_noise[j],
                                                     smoothing[j])
                        for j in range(len(self.specs))]
        q_next = tf.minimum(
            self._q(self.target_critics[i], batch.next_obs, next_actions, next_alive),
            self._q(self.target_critics2[i], batch.next_obs, next_actions, next_alive))  # [B]
        y = tf.stop_gradient(batch.rewards[i] + self.config.gamma * (1.0 - batch.terminated[i])
                             * q_next)
        loss = 0.0
        for critic in (self.critics[i], self.critics2[i]):
            q = self._q(critic, batch.obs, batch.actions, batch.alive)
            loss += masked_mean(tf.square(q - y), batch.alive[i])
        return loss

    def _smoothed_target_action(self, j, out, noise: ActionNoise, normal) -> tf.Tensor:
        """Agent j's smoothed target action [B, A_j] from its target actor's output ``out``.

        The clipped noise clip(target_noise * normal, +-target_noise_clip):
        Box, times half the range, added to the target action, which is then
        clipped to the bounds; Discrete, added to the logits, from which
        ``_target_action`` forms the target action (the one-hot argmax with
        epsilon rows, or the Gumbel-softmax sample): a one-hot (or a point of
        the simplex), never a point off it.
        """
        config, spec = self.config, self.specs[j]
        clipped = tf.clip_by_value(config.target_noise * normal, -config.target_noise_clip,
                                   config.target_noise_clip)
        if spec.discrete:
            return self._target_action(j, out + clipped, noise)
        low, high = tf.constant(spec.low, out.dtype), tf.constant(spec.high, out.dtype)
        return tf.clip_by_value(out + clipped * (0.5 * (high - low)), low, high)

    # --- Plumbing for the smoothing noise ---------------------------------------------

    def _critic_networks(self, i):
        return [(self.critics[i], self.critic_optimizers[i]),
                (self.critics2[i], self.critic2_optimizers[i])]

    def _target_pairs(self, agents):
        return (super()._target_pairs(agents)
                + [(self.critics2[i], self.target_critics2[i]) for i in agents])

    def _critic_loss_with_noise(self, i, batch, noise, targets):
        return self.critic_loss(i, batch, noise.target[i], targets, noise.smoothing[i])

    def _noise_signature(self):
        base = noise_signature(self.specs)
        row = tuple(tf.TensorSpec([None, s.action_dim], tf.float32) for s in self.specs)
        return MATD3Noise(base.target, base.actor, (row,) * len(self.specs))

    def sample_noise(self, batch_size) -> MATD3Noise:
        """Draws an update's noise, the smoothing included, from ``self.generator``."""
        base = super().sample_noise(batch_size)
        smoothing = tuple(tuple(self.generator.normal([batch_size, s.action_dim])
                                for s in self.specs) for _ in self.specs)
        return MATD3Noise(base.target, base.actor, smoothing)

    def numpy_noise(self, batch_size: int, rng: np.random.Generator) -> MATD3Noise:
        """Draws an update's noise with NumPy (tests and cross-checks)."""
        base = super().numpy_noise(batch_size, rng)
        smoothing = tuple(tuple(rng.standard_normal((batch_size, s.action_dim)).astype(np.float32)
                                for s in self.specs) for _ in self.specs)
        return MATD3Noise(base.target, base.actor, smoothing)

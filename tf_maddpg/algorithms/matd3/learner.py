"""MATD3: MADDPG with TD3's twin critics, target policy smoothing and delayed updates.

Ackermann et al. 2019 (https://arxiv.org/abs/1910.01465) apply TD3's three
changes (Fujimoto et al. 2018, https://arxiv.org/abs/1802.09477) to every
agent of MADDPG:

* twin critics: agent i has two centralised critics Q1_i and Q2_i (and their
  targets); both regress to y = r_i + gamma (1 - terminated_i)
  min(Q1'_i, Q2'_i)(x', a'), and the actor follows Q1_i alone;
* target policy smoothing: a'_j is the target action plus clipped Gaussian
  noise, clip(target_noise * N(0, 1), -target_noise_clip, target_noise_clip)
  in units of half the action's range, clipped back into the range. One code
  path for every agent: a Box agent's target action is its target actor's
  action and its range the action space's bounds; a Discrete agent's target
  action is first formed as in MADDPG (the one-hot argmax of the target
  logits with epsilon rows, or the Gumbel-softmax sample with
  ``target_actions='gumbel'``), then each entry gets the noise times 0.5 (half
  of [0, 1]) and is clipped to [0, 1]. The noise never touches the logits:
  an entry moves by at most 0.5 * target_noise_clip (0.25 with the default
  0.5), so a one-hot target action's largest entry stays the largest (>= 1 -
  0.25 = 0.75 against <= 0 + 0.25; so for any target_noise_clip < 1) and the
  chosen action never changes: the critic sees a point near the target
  action, TD3's local smoothing;
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
from tf_maddpg.algorithms.maddpg.learner import ActionNoise, MADDPGLearner, masked_mean, noise_signature
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

        The target action (``_target_action``: Box, the action; Discrete, the
        one-hot argmax with epsilon or the Gumbel-softmax sample) plus
        clip(target_noise * normal, +-target_noise_clip) times half the
        range, clipped to the range: the bounds (Box) or [0, 1] (Discrete).
        """
        config, spec = self.config, self.specs[j]
        action = self._target_action(j, out, noise)
        clipped = tf.clip_by_value(config.target_noise * normal, -config.target_noise_clip,
                                   config.target_noise_clip)
        low, high = (0.0, 1.0) if spec.discrete else (spec.low, spec.high)
        low, high = tf.constant(low, action.dtype), tf.constant(high, action.dtype)
        return tf.clip_by_value(action + clipped * (0.5 * (high - low)), low, high)

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

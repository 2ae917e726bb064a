"""The reference's MADDPG in PyTorch: a DDPG agent per agent and the update of all of them.

Notation as in ``tf_maddpg.learner``: ``i`` is the agent being updated, ``j``
any agent, ``B`` the batch size. Critic inputs are ``[obs_1..obs_N,
act_1..act_N]`` concatenated; an agent that is not alive in a transition is
zeros in every critic input and its own losses skip that transition.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tf_maddpg.storage.replay import Batch
from tf_maddpg.algorithms.maddpg.config import MADDPGConfig
from tf_maddpg.algorithms.maddpg.learner import ActionNoise, UpdateNoise
from tf_maddpg.reference.distributions import (
    gumbel_softmax_hard,
    gumbel_softmax_sample,
    onehot_from_logits,
    squash_to_bounds,
)
from tf_maddpg.reference.networks import TwoLayerFC
from tf_maddpg.envs.specs import AgentSpec, column_slices, joint_dims
from tf_maddpg.seeding import RunSeeds


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` [B] over the rows where ``mask`` [B] is 1."""
    return torch.sum(values * mask) / torch.clamp(torch.sum(mask), min=1.0)


def batch_to_torch(batch: Batch) -> Batch:
    """A ``Batch`` of per-agent arrays (NumPy, TF or torch) as float32 torch tensors."""
    return Batch(*(tuple(_tensor(a, torch.float32) for a in field) for field in batch))


def noise_to_torch(noise: UpdateNoise) -> UpdateNoise:
    """An ``UpdateNoise`` (NumPy, TF or torch) as torch tensors (int64 random actions)."""
    def convert(n: ActionNoise) -> ActionNoise:
        return ActionNoise(_tensor(n.uniform, torch.float32), _tensor(n.explore, torch.float32),
                           _tensor(n.random_action, torch.int64))
    return UpdateNoise(*(tuple(tuple(convert(n) for n in row) for row in field)
                         for field in noise))


def _tensor(values, dtype: torch.dtype) -> torch.Tensor:
    if not isinstance(values, torch.Tensor):
        values = torch.from_numpy(np.asarray(values))
    return values.to(dtype)


class DDPGAgent:
    """One agent's actor, critic, their targets, and one Adam per network.

    Args:
      spec: the agent's sizes and action space.
      critic_input_dim: every agent's observation and action sizes, summed.
      config: ``hidden_sizes``, ``actor_lr``, ``critic_lr`` and ``adam_epsilon``.

    Attributes:
      actor: observation [B, obs_dim] -> logits (Discrete) or pre-tanh
        values (Box) [B, action_dim].
      critic: joint observations and actions -> Q [B, 1].
      target_actor, target_critic: start as copies of actor and critic.
      actor_optimizer, critic_optimizer: ``torch.optim.Adam``.
    """

    def __init__(self, spec: AgentSpec, critic_input_dim: int, config: MADDPGConfig):
        hidden = config.hidden_sizes
        self.spec = spec
        self.actor = TwoLayerFC(spec.obs_dim, spec.action_dim, hidden)
        self.target_actor = TwoLayerFC(spec.obs_dim, spec.action_dim, hidden)
        self.critic = TwoLayerFC(critic_input_dim, 1, hidden)
        self.target_critic = TwoLayerFC(critic_input_dim, 1, hidden)
        self.target_actor.load_state_dict(self.actor.state_dict())
        self.target_critic.load_state_dict(self.critic.state_dict())
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=config.actor_lr,
                                                eps=config.adam_epsilon)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=config.critic_lr,
                                                 eps=config.adam_epsilon)
        if not spec.discrete:
            self.low = torch.tensor(spec.low, dtype=torch.float32)
            self.high = torch.tensor(spec.high, dtype=torch.float32)

    def output(self, raw: torch.Tensor) -> torch.Tensor:
        """An actor's raw output as tf_maddpg's actor gives it: logits, or the Box action."""
        return raw if self.spec.discrete else squash_to_bounds(raw, self.low, self.high)

    def policy(self, obs: torch.Tensor, target: bool = False) -> torch.Tensor:
        """Logits (Discrete) or the action in the bounds (Box) of the actor or target actor."""
        return self.output((self.target_actor if target else self.actor)(obs))

    def soft_update(self, tau: float) -> None:
        """target <- (1 - tau) * target + tau * online, for the actor and the critic."""
        with torch.no_grad():
            for online, target in ((self.actor, self.target_actor),
                                   (self.critic, self.target_critic)):
                for t, s in zip(target.parameters(), online.parameters()):
                    t.mul_(1.0 - tau).add_(s, alpha=tau)


class MADDPG:
    """Every agent's ``DDPGAgent`` and the update that trains them, as in the reference.

    Supports every switch of ``MADDPGConfig`` with the same meaning as
    ``tf_maddpg.algorithms.maddpg.learner.MADDPGLearner``, which it mirrors loss for loss.

    Args:
      specs: one ``AgentSpec`` per agent, in the adapter's order.
      config: the hyperparameters. The networks are initialised from
        ``torch.manual_seed`` with the run's "networks" seed (the global RNG is
        left as it was); update noise and exploration noise come from
        ``torch.Generator``s seeded with its "update_noise" and "exploration"
        seeds (``tf_maddpg.seeding.RunSeeds``).

    Attributes:
      agents: one ``DDPGAgent`` per agent.
    """

    def __init__(self, specs: Sequence[AgentSpec], config: MADDPGConfig):
        self.specs = tuple(specs)
        self.config = config
        critic_input_dim = sum(joint_dims(self.specs))
        seeds = RunSeeds(config.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seeds.integer("networks"))
            self.agents = [DDPGAgent(s, critic_input_dim, config) for s in self.specs]
        self.generator = torch.Generator().manual_seed(seeds.integer("update_noise"))
        self.act_generator = torch.Generator().manual_seed(seeds.integer("exploration"))
        self._obs_split = [c.stop for c in column_slices([s.obs_dim for s in self.specs])[:-1]]

    # --- Acting --------------------------------------------------------------------------

    def act(self, obs: Sequence[np.ndarray], explore: bool = False) -> list[np.ndarray]:
        """Every agent's action, as ``tf_maddpg.algorithms.policy.MultiAgentPolicy.act`` gives it.

        Discrete: the one-hot argmax, or when exploring a hard Gumbel-softmax
        sample with rows replaced by a random action w.p. ``config.epsilon``.
        Box: the actor's action, plus when exploring Gaussian noise of std
        ``config.exploration_noise`` times half the width, clipped to the bounds.

        Args:
          obs: one observation per agent, each [obs_dim] or [B, obs_dim].
          explore: sample exploring actions instead of greedy ones.

        Returns:
          One float32 array per agent, with the same leading shape as ``obs``.
        """
        single = np.ndim(obs[0]) == 1
        actions = []
        with torch.no_grad():
            for agent, o in zip(self.agents, obs):
                o = torch.from_numpy(np.asarray(o, np.float32))
                action = self._action(agent, o[None] if single else o, explore).numpy()
                actions.append(action[0] if single else action)
        return actions

    def act_packed(self, obs: np.ndarray, explore: bool = False) -> np.ndarray:
        """``act`` on packed observations [B, obs_width] -> packed actions [B, action_width]."""
        return np.concatenate(self.act(np.split(obs, self._obs_split, axis=-1), explore), axis=-1)

    def _action(self, agent: DDPGAgent, obs: torch.Tensor, explore: bool) -> torch.Tensor:
        out = agent.policy(obs)  # [B, A]: logits, or the action in the bounds
        rows, depth = out.shape
        g, config = self.act_generator, self.config
        if agent.spec.discrete and not explore:
            return F.one_hot(out.argmax(dim=-1), depth).to(out.dtype)
        if agent.spec.discrete:
            soft = gumbel_softmax_sample(out, torch.rand(rows, depth, generator=g),
                                         config.gumbel_temperature)
            return onehot_from_logits(soft, torch.rand(rows, generator=g),
                                      torch.randint(0, depth, (rows,), generator=g),
                                      config.epsilon)
        if explore and config.exploration_noise > 0:
            scale = config.exploration_noise * 0.5 * (agent.high - agent.low)
            noise = torch.randn(rows, depth, generator=g) * scale
            return torch.clamp(out + noise, agent.low, agent.high)
        return out

    # --- Updating ------------------------------------------------------------------------

    def update(self, batch: Batch, noise: UpdateNoise | None = None) -> dict[str, float]:
        """One update of every agent; returns the losses.

        Agent by agent (``update_order='sequential'``) or every gradient from
        the pre-update weights ('simultaneous'); the targets soft-update once
        at the end (``target_update='after_all'``) or agent i's right after
        agent i's steps ('per_agent', openai/maddpg).

        Args:
          batch: a ``Batch`` of per-agent arrays (from ``ReplayBuffer.sample``).
          noise: the update's noise, laid out as ``tf_maddpg.learner.UpdateNoise``
            (NumPy, TF or torch values), so both frameworks can be fed the
            same numbers; drawn from ``self.generator`` when None.

        Returns:
          ``{"loss/critic/<agent>": float, "loss/actor/<agent>": float, ...}``.
        """
        batch = batch_to_torch(batch)
        noise = (self.sample_noise(batch.rewards[0].shape[0]) if noise is None
                 else noise_to_torch(noise))
        n = len(self.agents)
        losses = {}
        per_agent = self.config.target_update == "per_agent"
        if self.config.update_order == "sequential":
            # The reference: agent by agent, critic then actor; agent i's actor loss
            # goes through its new critic and the already updated actors j < i.
            for i in range(n):
                losses.update(self._apply_critic(i, *self._critic_grads(i, batch, noise)))
                losses.update(self._apply_actor(i, *self._actor_grads(i, batch, noise)))
                if per_agent:
                    # openai/maddpg: agent i's targets move now; the critic losses
                    # of agents i + 1.. see agent i's new target actor.
                    self.agents[i].soft_update(self.config.tau)
        else:
            # Every gradient from the pre-update weights, then every step.
            critic_grads = [self._critic_grads(i, batch, noise) for i in range(n)]
            actor_grads = [self._actor_grads(i, batch, noise) for i in range(n)]
            for i in range(n):
                losses.update(self._apply_critic(i, *critic_grads[i]))
                losses.update(self._apply_actor(i, *actor_grads[i]))
        if not per_agent:
            self.update_all_targets()
        return losses

    def sample_noise(self, batch_size: int) -> UpdateNoise:
        """Draws an update's noise from ``self.generator`` (torch tensors)."""
        def draw(spec: AgentSpec) -> ActionNoise:
            g = self.generator
            return ActionNoise(torch.rand(batch_size, spec.action_dim, generator=g),
                               torch.rand(batch_size, generator=g),
                               torch.randint(0, spec.action_dim, (batch_size,), generator=g))
        return UpdateNoise(*(tuple(tuple(draw(s) for s in self.specs) for _ in self.specs)
                             for _ in range(2)))

    def update_all_targets(self) -> None:
        """Soft-updates every agent's target actor and target critic with ``config.tau``."""
        for agent in self.agents:
            agent.soft_update(self.config.tau)

    # --- Losses (take torch tensors: see batch_to_torch and noise_to_torch) ----------------

    def critic_loss(self, i: int, batch: Batch,
                    target_noise: Sequence[ActionNoise]) -> torch.Tensor:
        """Agent i's TD loss: masked mean of (Q_i(x, a) - y)^2.

        y = r_i + gamma * (1 - terminated_i) * Q'_i(x', a'), with a'_j from the
        target actors. Truncated transitions are not terminated: they bootstrap.
        """
        with torch.no_grad():
            next_alive = [a * (1.0 - t) for a, t in zip(batch.alive, batch.terminated)]  # [B]
            next_actions = [self._target_action(j, batch.next_obs[j], target_noise[j])
                            for j in range(len(self.agents))]
            q_next = self._q(self.agents[i].target_critic, batch.next_obs, next_actions,
                             next_alive)  # [B]
            y = batch.rewards[i] + self.config.gamma * (1.0 - batch.terminated[i]) * q_next
        q = self._q(self.agents[i].critic, batch.obs, batch.actions, batch.alive)
        return masked_mean(torch.square(q - y), batch.alive[i])

    def actor_loss(self, i: int, batch: Batch, actor_noise: Sequence[ActionNoise]) -> torch.Tensor:
        """Agent i's policy loss: -masked mean of Q_i(x, a_1..mu_i(o_i)..a_N) + logits_l2 term.

        Agent i's action (Discrete) is the straight-through Gumbel-softmax
        sample, epsilon rows included (``own_action='straight_through'``), or
        the soft Gumbel-softmax sample itself ('soft', openai/maddpg; no
        epsilon); Box: its actor's output. The regulariser is on the raw
        outputs before the relaxation or squashing.
        """
        agent, noise, config = self.agents[i], actor_noise[i], self.config
        raw = agent.actor(batch.obs[i])  # [B, A_i] logits or pre-tanh values
        if agent.spec.discrete and config.own_action == "soft":
            own_action = gumbel_softmax_sample(raw, noise.uniform, config.gumbel_temperature)
        elif agent.spec.discrete:
            own_action = gumbel_softmax_hard(raw, noise.uniform, noise.explore,
                                             noise.random_action, config.gumbel_temperature,
                                             config.epsilon)
        else:
            own_action = agent.output(raw)
        actions = []
        for j in range(len(self.agents)):
            if j == i:
                actions.append(own_action)
            elif config.other_actions == "batch":
                actions.append(batch.actions[j])
            else:
                with torch.no_grad():
                    actions.append(self._current_action(j, batch.obs[j], actor_noise[j]))
        q = self._q(agent.critic, batch.obs, actions, batch.alive)
        regulariser = masked_mean(torch.mean(torch.square(raw), dim=-1), batch.alive[i])
        return -masked_mean(q, batch.alive[i]) + config.logits_l2 * regulariser

    # --- Pieces --------------------------------------------------------------------------

    def _critic_grads(self, i: int, batch: Batch,
                      noise: UpdateNoise) -> tuple[torch.Tensor, list[torch.Tensor]]:
        loss = self.critic_loss(i, batch, noise.target[i])
        return loss, self._grads(loss, self.agents[i].critic)

    def _actor_grads(self, i: int, batch: Batch,
                     noise: UpdateNoise) -> tuple[torch.Tensor, list[torch.Tensor]]:
        loss = self.actor_loss(i, batch, noise.actor[i])
        return loss, self._grads(loss, self.agents[i].actor)

    def _apply_critic(self, i: int, loss: torch.Tensor,
                      grads: list[torch.Tensor]) -> dict[str, float]:
        agent = self.agents[i]
        self._step(agent.critic_optimizer, agent.critic, grads)
        return {f"loss/critic/{agent.spec.name}": loss.item()}

    def _apply_actor(self, i: int, loss: torch.Tensor,
                     grads: list[torch.Tensor]) -> dict[str, float]:
        agent = self.agents[i]
        self._step(agent.actor_optimizer, agent.actor, grads)
        return {f"loss/actor/{agent.spec.name}": loss.item()}

    @staticmethod
    def _grads(loss: torch.Tensor, net: nn.Module) -> list[torch.Tensor]:
        # autograd.grad, not backward(): an actor loss must not leave gradients
        # on the critic it goes through (the simultaneous order steps it later).
        return list(torch.autograd.grad(loss, list(net.parameters())))

    def _step(self, optimizer: torch.optim.Optimizer, net: nn.Module,
              grads: list[torch.Tensor]) -> None:
        """Clips ``grads`` as ``config.grad_clip`` says and steps ``net`` with them."""
        for parameter, grad in zip(net.parameters(), grads):
            parameter.grad = grad
        max_norm = self.config.max_grad_norm
        if max_norm is not None and self.config.grad_clip == "per_tensor":
            for parameter in net.parameters():  # each tensor on its own (tf.clip_by_norm)
                nn.utils.clip_grad_norm_([parameter], max_norm)
        elif max_norm is not None:
            nn.utils.clip_grad_norm_(net.parameters(), max_norm)  # one norm over the network
        optimizer.step()

    @staticmethod
    def _q(critic: nn.Module, obs: Sequence[torch.Tensor], actions: Sequence[torch.Tensor],
           alive: Sequence[torch.Tensor]) -> torch.Tensor:
        """Q [B] of the joint (obs, actions), with dead agents' entries zeroed."""
        masks = [m[:, None] for m in alive]
        joint = torch.cat([o * m for o, m in zip(obs, masks)]
                          + [a * m for a, m in zip(actions, masks)], dim=-1)
        return critic(joint).squeeze(-1)

    def _target_action(self, j: int, next_obs: torch.Tensor, noise: ActionNoise) -> torch.Tensor:
        agent = self.agents[j]
        out = agent.policy(next_obs, target=True)
        if not agent.spec.discrete:
            return out
        if self.config.target_actions == "gumbel":
            return gumbel_softmax_sample(out, noise.uniform, self.config.gumbel_temperature)
        return onehot_from_logits(out, noise.explore, noise.random_action, self.config.epsilon)

    def _current_action(self, j: int, obs: torch.Tensor, noise: ActionNoise) -> torch.Tensor:
        agent = self.agents[j]
        out = agent.policy(obs)
        if not agent.spec.discrete:
            return out
        return onehot_from_logits(out, noise.explore, noise.random_action, self.config.epsilon)

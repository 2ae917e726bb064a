"""The Q-learning update of IQL, VDN and QMIX: every Q-network and every mixer in one compiled call.

The three algorithms are one update; only the mixer differs (``config.mixer``):

* IQL ('none'): each agent is its own TD error, on its own reward:
  ``y_i = r_i + gamma * c_i * Q'_i(o'_i, a*_i)``, loss ``(Q_i(o_i, a_i) - y_i)^2``;
* VDN ('sum'): one TD error per team T on the team reward R_T (the sum, or
  the mean, of its members' rewards), with ``Q_T = sum_{i in T} Q_i(o_i, a_i)``;
* QMIX ('qmix'): the same with ``Q_T = mixer_T(Q_i(o_i, a_i) for i in T; s)``,
  a monotonic mixer (``networks/mixers.py``) of the global state s.

Notation: ``B`` the batch; ``c_i = alive_i * (1 - terminated_i)``, 1 when agent
i goes on after the transition. Truncated transitions are stored as not
terminated, so they bootstrap; terminated ones do not. An agent that is not
alive in a transition (it left the episode) adds nothing: its Q-values and
next Q-values are zeroed before the mixer, and a team's TD error counts the
transitions where some member is alive and bootstraps while some member goes
on. Double Q-learning (``double_q``): ``a*_i = argmax_a Q_i(o'_i, a)`` of the
online network, valued by the target network (else the target network's own
maximum). The target mixer mixes the next Q-values of the next state s'.

**The global state.** mpe2's ``env.state()`` is the concatenation of every
agent's observation, in agent order, which is exactly the packed observation
row that the replay buffer stores (``TransitionLayout``: the ``obs`` block);
QMIX's mixer reads that row as s (and the ``next_obs`` block as s'), raw
as EPyMARL's does, or through a LayerNorm with ``state_layer_norm``
(``networks/mixers.py``). An agent that left is zeros in it, as in the buffer.

**Teams** (``teams.py``): cooperative scenarios are one team; on competitive
ones (``teams='auto'`` or ``'by_name'``) each team (agents whose names differ
only by their number) has its own mixer, team reward and TD error, and
never sees the other team's Q-values.

**Parameter sharing** (``share_parameters``): the agents of one team with the
same sizes share one Q-network whose input is the observation followed by a
one-hot of the agent's place in that group. The networks act through
``actors``: one plain Dense Q-network per agent, observation -> Q-values,
so that the NumPy policy, the ``.keras`` files and the SavedModel export work
as for any actor. A shared network's actors are copies whose first layer's
bias has the agent's id column folded in (``W [o; e_m] + b = W_o o + (b +
W_e[m])``); the update rewrites them after every step, inside the compiled
call. An agent with a network of its own acts with that network itself.

**The update**, one ``tf.function`` with a fixed input signature: the team
rewards (standardised with running statistics when ``standardise_rewards``),
the double-Q targets, every TD loss, one gradient for all networks, one Adam
per team (IQL: per Q-network) with its gradients clipped to
``max_grad_norm`` together, then every ``target_update_interval`` updates the
targets ``target <- (1 - tau) target + tau online`` (networks and mixers), and
the actors of shared networks refreshed.

**Recurrent agents** (``agent='gru'``): ``recurrent.py``'s ``RecurrentQLearner``
is this learner with other Q-values (``current_q_values``,
``next_q_values``): the GRU networks unrolled over whole sampled episodes.
Everything else here (rewards, targets, masks, mixers, optimizers, targets'
updates, actors) is shared.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

from tf_maddpg.algorithms.batches import batch_signature, masked_mean
from tf_maddpg.algorithms.value_based.config import ValueBasedConfig
from tf_maddpg.algorithms.teams import teams_of
from tf_maddpg.algorithms.value_based.teams import parameter_groups
from tf_maddpg.envs.specs import AgentSpec
from tf_maddpg.networks.mixers import MIXERS
from tf_maddpg.networks.mlp import make_q_network
from tf_maddpg.networks.optimizers import TorchAdam
from tf_maddpg.storage.replay import Batch, TransitionLayout

REWARD_COUNT_START = 1e-4
"""The running reward statistics start as mean 0, variance 1 seen over this
many rewards (EPyMARL's RunningMeanStd epsilon), so that the first batch sets them."""
STD_EPSILON = 1e-8
"""Added to the running variance before its square root divides a reward."""


class Unit(NamedTuple):
    """What one optimizer trains: networks (indices into ``groups``) and the TD errors
    (indices into ``mixed``) whose mean is its loss."""

    groups: Tuple[int, ...]
    mixed: Tuple[int, ...]


class QLearner:
    """Q-networks, mixers, their targets and optimizers, and the update that trains them.

    Args:
      specs: one ``AgentSpec`` per agent, in the adapter's order; Discrete actions only.
      config: an ``IQLConfig``, ``VDNConfig`` or ``QMIXConfig``.

    Raises:
      ValueError: an agent has a Box action space (``config.check_agents``), or
        ``config.agent`` is not this class's (``make_q_learner`` picks the class).

    Attributes:
      teams: the teams, tuples of agent indices (``teams.teams_of``).
      groups: the agents that share each Q-network (``teams.parameter_groups``).
      mixed: the agents of each TD error: the teams (VDN, QMIX) or every agent
        alone (IQL).
      q_networks, target_q_networks: one Keras model per group:
        [B, obs_dim (+ group size when shared)] -> [B, num_actions].
      actors: one Keras model per agent, its observation -> its Q-values.
      mixing: how the config's mixer combines Q-values (``networks/mixers.MIXERS``).
      mixers, target_mixers: each team's mixer network (QMIX's; ``networks/mixers.MIXERS``);
        none for IQL and VDN (the sum).
      optimizers: one Adam per ``Unit`` (``units``).
      num_updates: the updates done (int64 variable; checkpoints keep it).
      reward_mean, reward_var, reward_count: the running statistics of each TD
        error's rewards (float64 variables [len(mixed)]).
    """

    agent = "mlp"
    """The ``config.agent`` this class trains."""

    def __init__(self, specs: Sequence[AgentSpec], config: ValueBasedConfig):
        if not isinstance(config, ValueBasedConfig):
            raise TypeError(f"QLearner needs an IQL, VDN or QMIX config, got "
                            f"{type(config).__name__}")
        if config.agent != self.agent:
            raise ValueError(f"{type(self).__name__} trains agent={self.agent!r} Q-networks, "
                             f"not {config.agent!r}: build the learner with make_q_learner")
        config.check_agents(specs)
        self.specs = tuple(specs)
        self.config = config
        n = len(self.specs)
        self.teams = teams_of([s.name for s in self.specs], config.teams)
        self.groups = parameter_groups(self.specs, self.teams, config.share_parameters)
        self.mixing = MIXERS[config.mixer]
        self.mixed = self.teams if self.mixing.per_team else tuple((i,) for i in range(n))
        self._mixed_of = {i: k for k, members in enumerate(self.mixed) for i in members}

        self.q_networks, self.target_q_networks = [], []
        self.actors: List[keras.Model] = [None] * n
        for members in self.groups:
            spec, ids = self.specs[members[0]], self._id_dim(members)
            label = spec.name if not ids else "-".join(self.specs[i].name for i in members)
            self.q_networks.append(self.make_network(spec, ids, f"q_{label}"))
            self.target_q_networks.append(self.make_network(spec, ids, f"target_q_{label}"))
            for i in members:
                self.actors[i] = (self.q_networks[-1] if not ids else
                                  self.make_network(spec, 0, f"q_{self.specs[i].name}"))
        self.layout = TransitionLayout(self.specs)
        self.mixers, self.target_mixers = [], []
        if self.mixing.make:
            for members in self.mixed:
                label = "-".join(self.specs[i].name for i in members)
                for kind, models in (("mixer", self.mixers), ("target_mixer", self.target_mixers)):
                    models.append(self.mixing.make(len(members), self.layout.obs_width,
                                                   config, f"{kind}_{label}"))
        for online, target in zip(self.q_networks + self.mixers,
                                  self.target_q_networks + self.target_mixers):
            target.set_weights(online.get_weights())

        self.units = self._units()
        self.optimizers = []
        for unit in self.units:
            optimizer = TorchAdam(learning_rate=config.lr, epsilon=config.adam_epsilon)
            optimizer.build(self._unit_variables(unit))
            self.optimizers.append(optimizer)
        self.num_updates = tf.Variable(0, dtype=tf.int64, trainable=False, name="num_updates")
        m = len(self.mixed)
        self.reward_mean = tf.Variable(tf.zeros([m], tf.float64), trainable=False)
        self.reward_var = tf.Variable(tf.ones([m], tf.float64), trainable=False)
        self.reward_count = tf.Variable(tf.fill([m], tf.constant(REWARD_COUNT_START, tf.float64)),
                                        trainable=False)
        self._sync_actors()

        self.batch_signature = batch_signature(self.specs)
        self._update = tf.function(self._update_step, input_signature=[self.batch_signature],
                                   autograph=False)
        # The training loop's path: one packed array in, one call (see ReplayBuffer).
        self._update_packed = tf.function(
            lambda rows: self._update(self.split_packed(rows)),
            input_signature=[self.packed_signature()], autograph=False)

    def make_network(self, spec: AgentSpec, id_dim: int, name: str) -> keras.Model:
        """A Q-network of agent ``spec``'s sizes with ``id_dim`` id columns."""
        return make_q_network(spec.obs_dim, spec.action_dim, self.config.hidden_sizes, id_dim,
                              name)

    def packed_signature(self) -> tf.TensorSpec:
        """What ``update_packed`` takes: packed transitions [B, layout.width]."""
        return tf.TensorSpec([None, self.layout.width], tf.float32)

    def split_packed(self, rows) -> Batch:
        """``update_packed``'s rows as the ``Batch`` the update reads."""
        return self.layout.split(rows)

    def _id_dim(self, members) -> int:
        """The one-hot id columns of a group's network: none for an agent alone."""
        return len(members) if len(members) > 1 else 0

    def _units(self) -> Tuple[Unit, ...]:
        """IQL: a unit per network (its agents' TD errors); VDN, QMIX: a unit per team."""
        if not self.mixing.per_team:
            return tuple(Unit((g,), tuple(self._mixed_of[i] for i in members))
                         for g, members in enumerate(self.groups))
        return tuple(Unit(tuple(g for g, members in enumerate(self.groups) if members[0] in team),
                          (k,)) for k, team in enumerate(self.mixed))

    def _unit_variables(self, unit: Unit) -> list:
        models = ([self.q_networks[g] for g in unit.groups]
                  + [self.mixers[k] for k in unit.mixed if self.mixers])
        return [v for model in models for v in model.trainable_variables]

    def checkpoint_objects(self) -> Dict[str, object]:
        """Everything that a checkpoint must hold to resume the learner exactly."""
        objects = dict(q_networks=self.q_networks, target_q_networks=self.target_q_networks,
                       actors=self.actors, optimizers=self.optimizers,
                       num_updates=self.num_updates, reward_mean=self.reward_mean,
                       reward_var=self.reward_var, reward_count=self.reward_count)
        if self.mixers:
            objects.update(mixers=self.mixers, target_mixers=self.target_mixers)
        return objects

    # --- Public entry points ---------------------------------------------------------

    def update(self, batch: Batch) -> Dict[str, float]:
        """One update of every Q-network and mixer; returns the TD losses.

        Returns:
          ``{"loss/critic/<agent>": float}``: the loss of the TD error that
          trains the agent's Q-values (its team's for VDN and QMIX, logged
          under every member; its own for IQL).
        """
        return {k: float(v) for k, v in self._update(batch).items()}

    def update_packed(self, rows: np.ndarray) -> Dict[str, float]:
        """``update`` on packed transitions [B, layout.width] (``ReplayBuffer.sample_packed``;
        a recurrent learner's: episodes, ``EpisodeReplay.sample_packed``)."""
        return {k: float(v) for k, v in self._update_packed(rows).items()}

    # --- The pieces of the update (public so that each can be tested alone) -----------

    def q_values(self, obs: Sequence[tf.Tensor], target: bool = False) -> List[tf.Tensor]:
        """Every agent's Q-values [B, num_actions_i] from its observation [B, obs_dim_i].

        A shared network computes all its agents in one call, each observation
        followed by the agent's id one-hot.
        """
        networks = self.target_q_networks if target else self.q_networks
        out = [None] * len(self.specs)
        for network, members in zip(networks, self.groups):
            ids = self._id_dim(members)
            if not ids:
                out[members[0]] = network(obs[members[0]])
                continue
            rows = tf.shape(obs[members[0]])[0]
            inputs = tf.concat([tf.concat([obs[i], tf.tile(tf.one_hot([m], ids), [rows, 1])], -1)
                                for m, i in enumerate(members)], axis=0)  # [ids * B, obs + ids]
            for i, q in zip(members, tf.split(network(inputs), ids, axis=0)):
                out[i] = q
        return out

    def current_q_values(self, batch: Batch) -> List[tf.Tensor]:
        """Every agent's Q-values [B, num_actions_i] of its observation in ``batch``."""
        return self.q_values(batch.obs)

    def next_q_values(self, batch: Batch, target: bool = False) -> List[tf.Tensor]:
        """Every agent's Q-values [B, num_actions_i] of its next observation in ``batch``
        (the target networks' with ``target``)."""
        return self.q_values(batch.next_obs, target=target)

    def mix(self, k: int, q: tf.Tensor, state: tf.Tensor, target: bool = False) -> tf.Tensor:
        """TD error k's Q-value [B] from its agents' Q-values ``q`` [B, n_k] and the state
        [B, obs_width]: the team's mixer network's (QMIX), else their sum (VDN; IQL: the
        one agent's)."""
        if self.mixers:
            return (self.target_mixers if target else self.mixers)[k]([q, state])
        return tf.reduce_sum(q, axis=-1)

    def team_rewards(self, batch: Batch) -> List[tf.Tensor]:
        """Each TD error's reward [B]: the agent's own (IQL), else the sum or mean of the team's."""
        rewards = []
        for members in self.mixed:
            total = tf.add_n([batch.rewards[i] for i in members])
            if getattr(self.config, "team_reward", "sum") == "mean":
                total = total / float(len(members))
            rewards.append(total)
        return rewards

    def mixed_alive(self, batch: Batch) -> List[tf.Tensor]:
        """Each TD error's mask [B]: 1 where one of its agents is alive."""
        return [tf.reduce_max(tf.stack([batch.alive[i] for i in members], -1), -1)
                for members in self.mixed]

    def standardise_rewards(self, rewards: Sequence[tf.Tensor], batch: Batch) -> List[tf.Tensor]:
        """Updates the running statistics with this batch's rewards, then standardises them.

        EPyMARL's ``RunningMeanStd`` (``src/components/standarize_stream.py``),
        as its ``QLearner`` calls it: the batch's mean and its variance as
        ``torch.var`` gives it, unbiased (the squared deviations over n - 1),
        merged into the running statistics by Chan et al.'s parallel update
        (weights ``count`` and n), then ``(r - mean) / sqrt(var + 1e-8)`` with
        the updated statistics. Each TD error's n counts the transitions where
        it is alive. Where torch.var of a single reward is NaN, a batch with
        one such transition has variance 0 here (the divisor is at least 1);
        one with none leaves the statistics as they were. The 1e-8
        (``STD_EPSILON``) is not EPyMARL's: it only matters for a reward that
        never varies, whose variance then shrinks towards 0.
        """
        r = tf.cast(tf.stack(rewards, -1), tf.float64)  # [B, M]
        mask = tf.cast(tf.stack(self.mixed_alive(batch), -1), tf.float64)  # [B, M]
        count = tf.reduce_sum(mask, 0)  # [M]
        batch_mean = tf.reduce_sum(r * mask, 0) / tf.maximum(count, 1.0)
        # Unbiased, as torch.var: n - 1 (EPyMARL's batch variance).
        batch_var = (tf.reduce_sum(mask * tf.square(r - batch_mean), 0)
                     / tf.maximum(count - 1.0, 1.0))
        old_count, delta = self.reward_count, batch_mean - self.reward_mean
        total = old_count + count
        mean = self.reward_mean + delta * count / total
        var = (self.reward_var * old_count + batch_var * count
               + tf.square(delta) * old_count * count / total) / total
        self.reward_mean.assign(mean)
        self.reward_var.assign(var)
        self.reward_count.assign(total)
        standardised = tf.cast((r - mean) / tf.sqrt(var + STD_EPSILON), tf.float32)
        return tf.unstack(standardised, num=len(self.mixed), axis=-1)

    def td_targets(self, batch: Batch, rewards: Sequence[tf.Tensor]) -> List[tf.Tensor]:
        """Each TD error's target [B]: y = R + gamma * c * Q'_tot(s', a*).

        ``c`` is 1 while one of its agents goes on (alive and not terminated);
        Q'_tot mixes, with the target mixer, the agents' target-network values
        of their double-Q next actions a*_i, each zeroed unless the agent goes on.
        """
        next_q_target = self.next_q_values(batch, target=True)
        next_q_online = self.next_q_values(batch) if self.config.double_q else next_q_target
        goes_on = [a * (1.0 - t) for a, t in zip(batch.alive, batch.terminated)]  # [B] each
        next_values = []
        for i in range(len(self.specs)):
            best = tf.argmax(next_q_online[i], axis=-1)  # [B]
            value = tf.gather(next_q_target[i], best, axis=1, batch_dims=1)  # [B]
            next_values.append(value * goes_on[i])
        next_state = tf.concat(batch.next_obs, axis=-1)  # [B, obs_width]: s'
        targets = []
        for k, members in enumerate(self.mixed):
            q_next = self.mix(k, tf.stack([next_values[i] for i in members], -1), next_state,
                              target=True)
            bootstrap = tf.reduce_max(tf.stack([goes_on[i] for i in members], -1), -1)
            targets.append(rewards[k] + self.config.gamma * bootstrap * q_next)
        return targets

    def chosen_q_values(self, batch: Batch) -> List[tf.Tensor]:
        """Every agent's Q-value [B] of the action it took, zeroed where it is not alive."""
        q = self.current_q_values(batch)
        return [tf.reduce_sum(q[i] * batch.actions[i], -1) * batch.alive[i]
                for i in range(len(self.specs))]

    def td_losses(self, batch: Batch, targets: Sequence[tf.Tensor]) -> List[tf.Tensor]:
        """Each TD error's loss: the mean of (Q_tot(s, a) - y)^2 over the transitions where
        one of its agents is alive (``targets`` are held constant)."""
        chosen = self.chosen_q_values(batch)
        state = tf.concat(batch.obs, axis=-1)  # [B, obs_width]: s
        losses = []
        for k, (members, alive) in enumerate(zip(self.mixed, self.mixed_alive(batch))):
            q_tot = self.mix(k, tf.stack([chosen[i] for i in members], -1), state)
            losses.append(masked_mean(tf.square(q_tot - tf.stop_gradient(targets[k])), alive))
        return losses

    # --- The compiled update ------------------------------------------------------------

    def _update_step(self, batch: Batch) -> Dict[str, tf.Tensor]:
        rewards = self.team_rewards(batch)
        if self.config.standardise_rewards:
            rewards = self.standardise_rewards(rewards, batch)
        targets = [tf.stop_gradient(y) for y in self.td_targets(batch, rewards)]
        unit_variables = [self._unit_variables(unit) for unit in self.units]
        with tf.GradientTape() as tape:
            losses = self.td_losses(batch, targets)
            # The units' variables do not overlap: one gradient of the sum is each unit's own.
            total = tf.add_n([tf.add_n([losses[k] for k in unit.mixed]) / float(len(unit.mixed))
                              for unit in self.units])
        grads = tape.gradient(total, [v for variables in unit_variables for v in variables])
        start = 0
        for optimizer, variables in zip(self.optimizers, unit_variables):
            unit_grads = grads[start: start + len(variables)]
            start += len(variables)
            if self.config.max_grad_norm is not None:
                unit_grads, _ = tf.clip_by_global_norm(unit_grads, self.config.max_grad_norm)
            optimizer.apply_gradients(zip(unit_grads, variables))
        self.num_updates.assign_add(1)
        tf.cond(self.num_updates % self.config.target_update_interval == 0,
                self._update_targets, lambda: tf.constant(False))
        self._sync_actors()
        return {f"loss/critic/{spec.name}": losses[self._mixed_of[i]]
                for i, spec in enumerate(self.specs)}

    def _update_targets(self) -> tf.Tensor:
        """target <- (1 - tau) target + tau online, for every Q-network and mixer."""
        tau = self.config.tau
        for online, target in zip(self.q_networks + self.mixers,
                                  self.target_q_networks + self.target_mixers):
            for t, s in zip(target.weights, online.weights):
                t.assign(s if tau == 1.0 else t * (1.0 - tau) + s * tau)
        return tf.constant(True)

    def _sync_actors(self) -> None:
        """Writes each shared network into its agents' actors, the id column folded into
        the first bias."""
        for network, members in zip(self.q_networks, self.groups):
            if not self._id_dim(members):
                continue
            kernel, bias, *rest = network.trainable_variables
            obs_dim = self.specs[members[0]].obs_dim
            for m, i in enumerate(members):
                first_kernel, first_bias, *actor_rest = self.actors[i].trainable_variables
                first_kernel.assign(kernel[:obs_dim])
                first_bias.assign(bias + kernel[obs_dim + m])
                for a, s in zip(actor_rest, rest):
                    a.assign(s)

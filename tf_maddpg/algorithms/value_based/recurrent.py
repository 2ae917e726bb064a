"""IQL, VDN and QMIX with recurrent agents (``agent='gru'``): the Q-learning update over
whole episodes, EPyMARL's ``use_rnn`` learners.

``QLearner``'s update with other Q-values; everything else is its own (the
team rewards and their standardisation, double-Q targets, masks, mixers, one
Adam per unit, clipping, target updates, the actors of shared networks).

**The batch.** ``EpisodeReplay.sample_packed`` gives [B, T, width] packed rows,
B episodes of T = ``episode_length`` steps, padded steps zeros (no agent
alive). ``split_packed`` makes them one time-major ``Batch`` of T * B
transitions (row ``t * B + b`` is step t of episode b), so that the rewards,
targets, masks and losses are the feed-forward learner's, per time step:
a padded step counts nowhere (no agent alive), an agent that left adds
nothing, a terminated step stops the bootstrap and a truncated one
bootstraps; QMIX mixes each step on its global state (the step's packed
observations).

**The Q-values.** Each network is unrolled over every sampled episode from
zero hidden states, online and target alike (``networks/recurrent.py``,
``unroll``): step t gives Q(o_t | h_t) and h_{t+1}. The value of the next
observation o'_t (= o_{t+1} in the episode; at the last step, the final
observation) is the network's output for [o'_t, h_{t+1}], EPyMARL's
output at step t + 1 of its unroll over T + 1 observations. A shared
network unrolls all its agents together, each observation followed by the
agent's id one-hot; its agents' actors get the id folded into the first
layer's bias as the feed-forward actors do (``QLearner._sync_actors``).
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import keras
import tensorflow as tf

from tf_maddpg.algorithms.value_based.config import ValueBasedConfig
from tf_maddpg.algorithms.value_based.learner import QLearner
from tf_maddpg.envs.specs import AgentSpec
from tf_maddpg.networks.recurrent import make_recurrent_q_network, unroll
from tf_maddpg.storage.replay import Batch


class RecurrentQLearner(QLearner):
    """``QLearner`` with GRU Q-networks trained on whole episodes.

    Args:
      specs: one ``AgentSpec`` per agent; Discrete actions only.
      config: an IQL, VDN or QMIX config with ``agent='gru'``.

    Attributes: ``QLearner``'s; ``q_networks``, ``target_q_networks`` and
    ``actors`` are ``make_recurrent_q_network`` models
    ([obs, hidden] -> [q, next hidden]).

    ``update_packed`` takes episodes [B, episode_length, layout.width];
    ``update`` and the public TD pieces take their time-major ``Batch``
    (``split_packed``).
    """

    agent = "gru"

    def __init__(self, specs: Sequence[AgentSpec], config: ValueBasedConfig):
        self.episode_length = config.episode_length
        super().__init__(specs, config)

    def make_network(self, spec: AgentSpec, id_dim: int, name: str) -> keras.Model:
        return make_recurrent_q_network(spec.obs_dim, spec.action_dim,
                                        self.config.rnn_hidden_dim, id_dim, name)

    def packed_signature(self) -> tf.TensorSpec:
        """Packed episodes [B, episode_length, layout.width] (``EpisodeReplay.sample_packed``)."""
        return tf.TensorSpec([None, self.episode_length, self.layout.width], tf.float32)

    def split_packed(self, rows) -> Batch:
        """Episodes [B, T, width] -> a time-major ``Batch`` of T * B transitions."""
        rows = tf.transpose(rows, [1, 0, 2])  # [T, B, width]
        return self.layout.split(tf.reshape(rows, [-1, self.layout.width]))

    # --- The Q-values of whole episodes -------------------------------------------------

    def current_q_values(self, batch: Batch) -> List[tf.Tensor]:
        """Every agent's Q-values [T * B, num_actions_i] of its observations, the online
        networks unrolled over the episodes."""
        return self.sequence_q_values(batch)[0]

    def next_q_values(self, batch: Batch, target: bool = False) -> List[tf.Tensor]:
        """Every agent's Q-values [T * B, num_actions_i] of its next observations: the
        network's output for [o'_t, h_{t+1}]."""
        return self.sequence_q_values(batch, target)[1]

    def sequence_q_values(self, batch: Batch, target: bool = False
                          ) -> Tuple[List[tf.Tensor], List[tf.Tensor]]:
        """(Q-values of the observations, Q-values of the next observations), each one
        tensor [T * B, num_actions_i] per agent, of the online networks or ``target``'s."""
        networks = self.target_q_networks if target else self.q_networks
        steps = self.episode_length
        current, following = [None] * len(self.specs), [None] * len(self.specs)
        for network, members in zip(networks, self.groups):
            ids = self._id_dim(members)

            def sequences(fields):  # [T, len(members) * B, obs + ids]
                parts = []
                for m, i in enumerate(members):
                    x = tf.reshape(fields[i], [steps, -1, self.specs[i].obs_dim])  # [T, B, obs]
                    if ids:
                        one_hot = tf.one_hot([[m]], ids)  # [1, 1, ids]
                        x = tf.concat([x, tf.tile(one_hot, [steps, tf.shape(x)[1], 1])], -1)
                    parts.append(x)
                return tf.concat(parts, axis=1)

            obs, next_obs = sequences(batch.obs), sequences(batch.next_obs)
            q, hidden = unroll(network, obs)  # [T, G * B, A], [T, G * B, H]: h_{t+1}
            width = obs.shape[-1]
            next_q, _ = network([tf.reshape(next_obs, [-1, width]),
                                 tf.reshape(hidden, [-1, hidden.shape[-1]])])
            next_q = tf.reshape(next_q, tf.shape(q))
            parts = len(members)
            for i, q_i, next_i in zip(members, tf.split(q, parts, axis=1),
                                      tf.split(next_q, parts, axis=1)):
                actions = self.specs[i].action_dim
                current[i] = tf.reshape(q_i, [-1, actions])
                following[i] = tf.reshape(next_i, [-1, actions])
        return current, following

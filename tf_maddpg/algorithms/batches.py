"""What the learners of replayed transitions share (MADDPG, MATD3 and the value-based
family): the ``tf.TensorSpec`` of a ``Batch``, the input signature of their compiled
updates, and the mean of a per-row loss over the rows where an agent is alive."""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from tf_maddpg.envs.specs import AgentSpec
from tf_maddpg.storage.replay import Batch


def batch_signature(specs: Sequence[AgentSpec]) -> Batch:
    """The ``tf.TensorSpec`` of every field of a ``Batch`` (any batch size)."""
    def per_agent(shape_of):
        return tuple(tf.TensorSpec([None, *shape_of(s)], tf.float32) for s in specs)
    return Batch(obs=per_agent(lambda s: [s.obs_dim]),
                 actions=per_agent(lambda s: [s.action_dim]),
                 rewards=per_agent(lambda s: []),
                 next_obs=per_agent(lambda s: [s.obs_dim]),
                 terminated=per_agent(lambda s: []),
                 alive=per_agent(lambda s: []))


def masked_mean(values: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Mean of ``values`` [B] over the rows where ``mask`` [B] is 1."""
    return tf.reduce_sum(values * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)

"""The on-policy family's networks: stochastic actors and value critics, shared or not.

With parameter sharing, agents whose spaces are equal form a group that uses
one set of layers; each agent's own model appends the one-hot of its index in
the group to its input (``AppendAgentId``), so every agent still has a model
``observation -> action output`` of its own (saved, exported and evaluated
like any actor), while the group trains one set of weights.

Actor outputs: Discrete agents, the logits; Box agents, the Gaussian's mean
clipped to the bounds (the greedy action). The unclipped mean is the layer
named ``"preactivation"``; the learned log-std lives in the ``GaussianHead``
that does the clipping.
"""

from __future__ import annotations

import dataclasses
import math
from typing import List, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

from tf_maddpg.envs.specs import AgentSpec


@keras.saving.register_keras_serializable(package="tf_maddpg")
class AppendAgentId(keras.layers.Layer):
    """Appends the one-hot of ``index`` (of ``count``) to every row of its input."""

    def __init__(self, index: int, count: int, **kwargs):
        super().__init__(**kwargs)
        self.index, self.count = int(index), int(count)

    def call(self, inputs):
        one_hot = tf.one_hot(self.index, self.count, dtype=inputs.dtype)
        rows = tf.shape(inputs)[0]
        return tf.concat([inputs, tf.tile(one_hot[None], [rows, 1])], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + self.count)

    def get_config(self):
        return {**super().get_config(), "index": self.index, "count": self.count}


@keras.saving.register_keras_serializable(package="tf_maddpg")
class GaussianHead(keras.layers.Layer):
    """A Box agent's Gaussian: holds the learned log-std; its output is the mean
    clipped to the bounds (the greedy action)."""

    def __init__(self, low, high, init_log_std=None, **kwargs):
        super().__init__(**kwargs)
        self.low = tuple(float(x) for x in low)
        self.high = tuple(float(x) for x in high)
        init = np.zeros(len(self.low)) if init_log_std is None else init_log_std
        self.log_std = self.add_weight(
            shape=(len(self.low),), name="log_std",
            initializer=keras.initializers.Constant(np.asarray(init, np.float32)))

    def call(self, inputs):
        return tf.clip_by_value(inputs, self.low, self.high)

    def get_config(self):
        return {**super().get_config(), "low": list(self.low), "high": list(self.high)}


@dataclasses.dataclass(frozen=True)
class Group:
    """Agents that share one network: their indices, in agent order."""

    members: Tuple[int, ...]

    def position(self, agent: int) -> int:
        """The agent's index inside the group (its one-hot id)."""
        return self.members.index(agent)


def parameter_groups(specs: Sequence[AgentSpec], share: bool) -> List[Group]:
    """The groups of agents that share networks: equal spaces together when
    ``share``, else one group per agent. Groups are ordered by first member."""
    if not share:
        return [Group((i,)) for i in range(len(specs))]
    groups = {}
    for i, s in enumerate(specs):
        groups.setdefault((s.obs_dim, s.action_dim, s.discrete, s.low, s.high), []).append(i)
    return [Group(tuple(m)) for m in groups.values()]


def _orthogonal_dense(units: int, gain: float, activation, name: str) -> keras.layers.Dense:
    """A Dense layer initialised as the MAPPO repository's: orthogonal weights, zero bias."""
    return keras.layers.Dense(units, activation=activation, name=name,
                              kernel_initializer=keras.initializers.Orthogonal(gain),
                              bias_initializer="zeros")


@dataclasses.dataclass(frozen=True)
class Trunk:
    """The hidden layers of an on-policy network: widths and where LayerNorms go.

    Attributes:
      hidden_sizes: widths of the hidden layers (ReLU).
      input_norm: a LayerNorm on the input (the MAPPO repository's and HARL's
        ``use_feature_normalization``).
      hidden_norm: a LayerNorm after every hidden layer's ReLU (the MAPPO
        repository's and HARL's ``MLPLayer``: Linear, ReLU, LayerNorm).
    """

    hidden_sizes: Tuple[int, ...]
    input_norm: bool = True
    hidden_norm: bool = True

    def layers(self, prefix: str, output_dim: int, output_gain: float) -> list:
        """New layers: [input norm], (Dense ReLU [, LayerNorm]) per hidden layer, output."""
        norm = keras.layers.LayerNormalization
        layers = [norm(epsilon=1e-5, name=f"{prefix}_input_norm")] if self.input_norm else []
        for k, width in enumerate(self.hidden_sizes):
            layers.append(_orthogonal_dense(width, math.sqrt(2.0), "relu", f"{prefix}_hidden_{k}"))
            if self.hidden_norm:
                layers.append(norm(epsilon=1e-5, name=f"{prefix}_hidden_{k}_norm"))
        layers.append(_orthogonal_dense(output_dim, output_gain, None, f"{prefix}_output"))
        return layers


def _model(input_dim: int, group: Group, agent: int, layers: list, tail: list, name: str):
    x = inputs = keras.Input(shape=(input_dim,), name="obs")
    if len(group.members) > 1:
        x = AppendAgentId(group.position(agent), len(group.members), name="agent_id")(x)
    for layer in layers + tail:
        x = layer(x)
    return keras.Model(inputs, x, name=name)


def make_stochastic_actors(specs: Sequence[AgentSpec], groups: Sequence[Group], trunk: Trunk,
                           init_std: float) -> List[keras.Model]:
    """One actor model per agent, ``[B, obs_dim] -> [B, action_dim]``, the members of a
    group sharing every weight (the output layer has gain 0.01, as in MAPPO)."""
    actors = [None] * len(specs)
    for g, group in enumerate(groups):
        spec = specs[group.members[0]]
        layers = trunk.layers(f"actor{g}", spec.action_dim, 0.01)
        head = []
        if not spec.discrete:
            half = 0.5 * (np.asarray(spec.high) - np.asarray(spec.low))
            head = [GaussianHead(spec.low, spec.high, np.log(init_std * half), name="gaussian")]
        for i in group.members:
            tail = [] if spec.discrete else [keras.layers.Identity(name="preactivation"), *head]
            actors[i] = _model(spec.obs_dim, group, i, layers, tail, f"actor_{specs[i].name}")
    return actors


def make_value_critics(specs: Sequence[AgentSpec], groups: Sequence[Group],
                       input_dims: Sequence[int], trunk: Trunk,
                       agent_ids: bool = True) -> List[keras.Model]:
    """One value model per agent, ``[B, input_dims[i]] -> [B, 1]``, shared within a group.

    ``agent_ids=False``: a group's members use one model without agent ids (a
    team's one V(s): every member sees the same global state and gets the
    same value)."""
    critics = [None] * len(specs)
    for g, group in enumerate(groups):
        layers = trunk.layers(f"critic{g}", 1, 1.0)
        if not agent_ids:
            model = _model(input_dims[group.members[0]], Group(group.members[:1]),
                           group.members[0], layers, [], f"critic_{g}")
        for i in group.members:
            critics[i] = (_model(input_dims[i], group, i, layers, [], f"critic_{specs[i].name}")
                          if agent_ids else model)
    return critics


def gaussian_head(actor: keras.Model):
    """A Box actor's ``GaussianHead`` (its ``log_std``)."""
    return actor.get_layer("gaussian")

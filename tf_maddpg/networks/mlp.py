"""Keras network factories: an actor per agent, a centralised critic per agent, and the
value-based family's Q-networks."""

from __future__ import annotations

import math
from typing import Sequence

import keras

from tf_maddpg.networks.distributions import squash_to_bounds
from tf_maddpg.envs.specs import AgentSpec, joint_dims


@keras.saving.register_keras_serializable(package="tf_maddpg")
class ScaleToBounds(keras.layers.Layer):
    """tanh scaled to a Box's bounds, elementwise."""

    def __init__(self, low, high, **kwargs):
        super().__init__(**kwargs)
        self.low = tuple(float(x) for x in low)
        self.high = tuple(float(x) for x in high)

    def call(self, inputs):
        return squash_to_bounds(inputs, self.low, self.high)

    def get_config(self):
        return {**super().get_config(), "low": list(self.low), "high": list(self.high)}


def _dense(units: int, fan_in: int, activation, name: str) -> keras.layers.Dense:
    """A Dense layer initialised like torch.nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    The PyTorch reference uses that default for weights and biases; starting
    from the same distribution keeps runs of the two comparable.
    """
    bound = 1.0 / math.sqrt(fan_in)
    return keras.layers.Dense(
        units, activation=activation, name=name,
        kernel_initializer=keras.initializers.RandomUniform(-bound, bound),
        bias_initializer=keras.initializers.RandomUniform(-bound, bound))


def _mlp(inputs, input_dim: int, hidden_sizes: Sequence[int], output_dim: int):
    x, fan_in = inputs, input_dim
    for k, width in enumerate(hidden_sizes):
        x = _dense(width, fan_in, "relu", f"hidden_{k}")(x)
        fan_in = width
    return _dense(output_dim, fan_in, None, "output")(x)


def make_actor(spec: AgentSpec, hidden_sizes: Sequence[int] = (64, 64),
               name: str | None = None) -> keras.Model:
    """An agent's actor: its own observation [B, obs_dim] -> [B, action_dim].

    Discrete: the output is the logits of the action distribution. Box: the
    output is the action, tanh scaled to the space's bounds; the layer before
    the scaling is named ``"preactivation"``.
    """
    obs = keras.Input(shape=(spec.obs_dim,), name="obs")
    out = _mlp(obs, spec.obs_dim, hidden_sizes, spec.action_dim)
    if not spec.discrete:
        out = keras.layers.Identity(name="preactivation")(out)
        out = ScaleToBounds(spec.low, spec.high, name="scale_to_bounds")(out)
    return keras.Model(obs, out, name=name or f"actor_{spec.name}")


def actor_preactivation_model(actor: keras.Model, spec: AgentSpec) -> keras.Model:
    """The part of an actor before its output squashing, sharing its weights.

    Discrete actors have no squashing: the actor itself is returned.
    """
    if spec.discrete:
        return actor
    return keras.Model(actor.input, actor.get_layer("preactivation").output,
                       name=f"{actor.name}_preactivation")


def make_critic(specs: Sequence[AgentSpec], hidden_sizes: Sequence[int] = (64, 64),
                name: str = "critic") -> keras.Model:
    """A centralised critic: [all observations, all actions] -> Q.

    The input is one tensor [B, sum(obs_dims) + sum(action_dims)]: every
    agent's observation in agent order, then every agent's action in agent
    order. The output is [B, 1].
    """
    obs_total, action_total = joint_dims(specs)
    size = obs_total + action_total
    joint = keras.Input(shape=(size,), name="joint_obs_actions")
    q = _mlp(joint, size, hidden_sizes, 1)
    return keras.Model(joint, q, name=name)


def make_q_network(obs_dim: int, num_actions: int, hidden_sizes: Sequence[int] = (64, 64),
                   id_dim: int = 0, name: str = "q_network") -> keras.Model:
    """A Q-network (IQL, VDN, QMIX): [B, obs_dim + id_dim] -> Q-values [B, num_actions].

    ``id_dim`` extra input columns hold a one-hot agent id when several agents
    share the network. A network without them is a plain Dense stack, the
    agent's actor: its greedy action is the argmax of its output.
    """
    obs = keras.Input(shape=(obs_dim + id_dim,), name="obs")
    return keras.Model(obs, _mlp(obs, obs_dim + id_dim, hidden_sizes, num_actions), name=name)

"""The recurrent Q-network of IQL, VDN and QMIX (``agent='gru'``): EPyMARL's ``RNNAgent``.

One step of the network (a Keras model with two inputs and two outputs)::

    x  = relu(fc1(obs))                 [B, H]
    h' = GRUCell(x, h)                  [B, H]
    q  = output(h')                     [B, num_actions]
    [obs [B, obs_dim], hidden [B, H]] -> [q, h']

The GRU is Keras's ``GRUCell`` with ``reset_after=True`` (PyTorch's and
EPyMARL's ``nn.GRUCell`` formula: the reset gate multiplies the recurrent
product after its bias), gates ordered update, reset, candidate in the
kernels: ``z = sigmoid(x W_z + b_z + h U_z + c_z)``, ``r`` alike, ``n =
tanh(x W_n + b_n + r * (h U_n + c_n))``, ``h' = z * h + (1 - z) * n``.
Every weight starts as torch.nn's do, U(-1/sqrt(fan_in), 1/sqrt(fan_in))
(fan_in H for the GRU).

An episode starts from ``hidden`` zeros; the caller feeds each step's ``h'``
back as the next step's ``hidden`` (``unroll`` does it over a sequence).
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from tf_maddpg.networks.mlp import _dense


def make_recurrent_q_network(obs_dim: int, num_actions: int, hidden_dim: int = 64,
                             id_dim: int = 0, name: str = "q_network") -> keras.Model:
    """A recurrent Q-network: ``[obs [B, obs_dim + id_dim], hidden [B, hidden_dim]] ->
    [q [B, num_actions], next_hidden [B, hidden_dim]]``.

    Layers (named for tests and for ``QLearner``'s folding of the id columns,
    which reads the first two trainable variables as the first layer's):
    ``fc1`` (Dense, ReLU), ``gru`` (GRUCell), ``output`` (Dense).
    """
    obs = keras.Input(shape=(obs_dim + id_dim,), name="obs")
    hidden = keras.Input(shape=(hidden_dim,), name="hidden_state")
    x = _dense(hidden_dim, obs_dim + id_dim, "relu", "fc1")(obs)
    bound = 1.0 / math.sqrt(hidden_dim)
    uniform = keras.initializers.RandomUniform(-bound, bound)
    cell = keras.layers.GRUCell(hidden_dim, reset_after=True, kernel_initializer=uniform,
                                recurrent_initializer=uniform, bias_initializer=uniform,
                                name="gru")
    next_hidden, _ = cell(x, hidden)
    q = _dense(num_actions, hidden_dim, None, "output")(next_hidden)
    return keras.Model([obs, hidden], [q, next_hidden], name=name)


def is_recurrent(model: keras.Model) -> bool:
    """Whether a Q-network or actor takes a hidden state beside the observation."""
    return len(model.inputs) == 2


def io_sizes(model: keras.Model):
    """(observation size, output size) of an actor, recurrent or not."""
    return model.inputs[0].shape[-1], model.outputs[0].shape[-1]


def hidden_size(model: keras.Model) -> int:
    """The hidden state's size of a recurrent network."""
    return int(model.inputs[1].shape[-1])


def unroll(network: keras.Model, obs: tf.Tensor):
    """Runs a recurrent network over sequences from zero hidden states.

    Args:
      network: a ``make_recurrent_q_network`` model.
      obs: [T, B, obs_dim] time-major observations.

    Returns:
      q [T, B, num_actions], the outputs at each step, and next_hidden
      [T, B, H]: the hidden state after each step (h_{t+1}).
    """
    rows = tf.shape(obs)[1]
    hidden = tf.zeros([rows, hidden_size(network)], obs.dtype)
    q0 = tf.zeros([rows, network.outputs[0].shape[-1]], obs.dtype)

    def step(carry, x):
        return tuple(network([x, carry[1]]))

    return tf.scan(step, obs, initializer=(q0, hidden))

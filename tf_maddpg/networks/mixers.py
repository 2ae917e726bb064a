"""The value-based family's mixers (``MIXERS``): VDN's sum, and QMIX's mixer: per-agent
Q-values and the global state -> the team's Q-value, monotonic in every agent's
Q-value (Rashid et al. 2018, https://arxiv.org/abs/1803.11485).

As in PyMARL's ``QMixer`` (and EPyMARL's), with two-layer hypernetworks::

    w1 = |hyper_w1(s)|        [B, n, E]   (hyper_w1: Dense(H, relu) -> Dense(n * E))
    b1 = hyper_b1(s)          [B, E]      (Dense(E))
    w2 = |hyper_w2(s)|        [B, E]      (Dense(H, relu) -> Dense(E))
    v  = V(s)                 [B]         (Dense(E, relu) -> Dense(1))
    Q_tot = sum_e elu(sum_i q_i w1[i, e] + b1[e]) w2[e] + v

Every weight that multiplies a Q-value is an absolute value and ELU is
increasing, so dQ_tot/dq_i >= 0: the greedy joint action is every agent's
own greedy action.

``layer_norm`` (QMIXConfig's ``state_layer_norm``) gives every
hypernetwork, ``hyper_b1`` and V the state through a LayerNorm without
scale or shift, ``s_hat = (s - mean(s)) / sqrt(var(s) + 1e-3)`` over the
state's features (one state at a time; ``var`` divides by the number of
features; 1e-3 is Keras's LayerNormalization epsilon). A scale and shift of
their own would add nothing: every layer that reads s_hat is a Dense layer,
which can take them into its kernel and bias. Without it the hypernetworks
see the raw state, which mpe2 does not bound (positions and velocities grow
as agents wander off), and a ReLU network's output grows with its input,
so the mixer's weights |w1(s)|, |w2(s)| (the absolute value: in every
direction) are largest at the states farthest out; with gamma 0.99 the
targets' maximisation bias, multiplied by that gain and bootstrapped over a
100-step horizon, made QMIX value the far states above the near ones and
diverge (``algorithms/value_based/config.py`` has the probes).
"""

from __future__ import annotations

from typing import Callable, Dict, NamedTuple, Optional

import keras
from keras import ops

from tf_maddpg.networks.mlp import _dense


@keras.saving.register_keras_serializable(package="tf_maddpg")
class MonotonicMixing(keras.layers.Layer):
    """QMIX's mixing of Q-values [B, n] with the hypernetworks' outputs; no weights of its own.

    Inputs: ``[q [B, n], w1 [B, n * E], b1 [B, E], w2 [B, E], v [B, 1]]``;
    output: Q_tot [B]. The absolute values of w1 and w2 are taken here.
    """

    def __init__(self, num_agents: int, embed_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.num_agents, self.embed_dim = int(num_agents), int(embed_dim)

    def call(self, inputs):
        q, w1, b1, w2, v = inputs
        w1 = ops.reshape(ops.abs(w1), (-1, self.num_agents, self.embed_dim))
        pre = ops.einsum("bn,bne->be", q, w1) + b1  # [B, E]
        # ELU written out: TF's Elu op trips a Grappler pass (an error logged at every trace).
        hidden = ops.where(pre > 0, pre, ops.expm1(ops.minimum(pre, 0.0)))
        return ops.sum(hidden * ops.abs(w2), axis=-1) + v[:, 0]

    def compute_output_shape(self, input_shapes):
        return (input_shapes[0][0],)

    def get_config(self):
        return {**super().get_config(), "num_agents": self.num_agents,
                "embed_dim": self.embed_dim}


STATE_NORM_EPSILON = 1e-3
"""Added to the state's variance in the mixer's LayerNorm (Keras's default epsilon)."""


def make_qmix_mixer(num_agents: int, state_dim: int, embed_dim: int = 32,
                    hypernet_hidden: int = 64, name: str = "mixer",
                    layer_norm: bool = False) -> keras.Model:
    """QMIX's mixer: ``[q [B, num_agents], state [B, state_dim]] -> Q_tot [B]``.

    Layers (named for tests): ``hyper_w1_hidden``, ``hyper_w1``, ``hyper_b1``,
    ``hyper_w2_hidden``, ``hyper_w2``, ``v_hidden``, ``v``; each initialised as
    torch.nn.Linear is (PyMARL's). With ``layer_norm`` they read the state
    through ``state_norm``, a LayerNorm without weights (this module's
    docstring); without, the mixer is PyMARL's, layer for layer.
    """
    q = keras.Input(shape=(num_agents,), name="q")
    state = keras.Input(shape=(state_dim,), name="state")
    features = state
    if layer_norm:
        features = keras.layers.LayerNormalization(
            epsilon=STATE_NORM_EPSILON, center=False, scale=False, name="state_norm")(state)

    def two_layers(hidden, out, prefix):
        h = _dense(hidden, state_dim, "relu", f"{prefix}_hidden")(features)
        return _dense(out, hidden, None, prefix)(h)

    w1 = two_layers(hypernet_hidden, num_agents * embed_dim, "hyper_w1")
    b1 = _dense(embed_dim, state_dim, None, "hyper_b1")(features)
    w2 = two_layers(hypernet_hidden, embed_dim, "hyper_w2")
    v = two_layers(embed_dim, 1, "v")
    q_tot = MonotonicMixing(num_agents, embed_dim, name="mixing")([q, w1, b1, w2, v])
    return keras.Model([q, state], q_tot, name=name)


class Mixing(NamedTuple):
    """How a value-based algorithm combines Q-values (``MIXERS``' entries)."""

    per_team: bool
    """One TD error per team on the team's reward (else each agent alone, on its own)."""
    make: Optional[Callable[..., keras.Model]] = None
    """``(num_agents, state_dim, config, name) -> [q [B, num_agents], state [B,
    state_dim]] -> Q_tot [B]``, a team's mixer network; None: the sum of the Q-values."""


def qmix_mixer_of(num_agents: int, state_dim: int, config, name: str) -> keras.Model:
    """``make_qmix_mixer`` with a QMIX config's sizes (``MIXERS['qmix'].make``)."""
    return make_qmix_mixer(num_agents, state_dim, config.mixing_embed_dim,
                           config.hypernet_hidden, name, layer_norm=config.state_layer_norm)


MIXERS: Dict[str, Mixing] = {
    "none": Mixing(per_team=False),
    "sum": Mixing(per_team=True),
    "qmix": Mixing(per_team=True, make=qmix_mixer_of),
}
"""A value-based config's ``mixer`` -> its ``Mixing``: IQL ('none', each agent alone), VDN
('sum') and QMIX ('qmix', its monotonic mixer). A new mixer is a line here and a
config class."""

"""The recurrent agent (``agent='gru'``) written again in float64 NumPy, for the exact tests.

Nothing here imports TensorFlow. A network's parameters are a list in Keras
order: fc1 kernel, fc1 bias, the GRU's kernel [in, 3H], recurrent kernel
[H, 3H] and bias [2, 3H] (input bias, recurrent bias), output kernel, output
bias. The GRU is PyTorch's GRUCell formula, which Keras's ``reset_after=True``
cell computes, gates in the order update (z), reset (r), candidate (n)::

    z = sigmoid(x W_z + b_z + h U_z + c_z)
    r = sigmoid(x W_r + b_r + h U_r + c_r)
    n = tanh(x W_n + b_n + r * (h U_n + c_n))
    h' = z * h + (1 - z) * n

``Recurrent`` plugs into numpy_value_based's ``td_targets``, ``td_losses``
and ``full_update`` (their ``agent`` argument): a time-major batch of T * B
transitions, each network unrolled over every episode from zero hidden
states, the next observation valued with the hidden state after the step.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def gru_cell(kernel, recurrent_kernel, bias, x, h):
    """One GRU step: x [B, in], h [B, H] -> h' [B, H]."""
    hidden = h.shape[-1]
    xz, xr, xn = np.split(x @ kernel + bias[0], 3, axis=-1)
    hz, hr, hn = np.split(h @ recurrent_kernel + bias[1], 3, axis=-1)
    assert xz.shape[-1] == hidden
    z = sigmoid(xz + hz)
    r = sigmoid(xr + hr)
    n = np.tanh(xn + r * hn)
    return z * h + (1.0 - z) * n


def step(params, obs, h):
    """The network's step: (q [B, A], h' [B, H])."""
    fc1_k, fc1_b, kernel, recurrent_kernel, bias, out_k, out_b = params
    x = np.maximum(obs @ fc1_k + fc1_b, 0.0)
    h = gru_cell(kernel, recurrent_kernel, bias, x, h)
    return h @ out_k + out_b, h


def unroll(params, obs):
    """obs [T, B, in] from zero hidden states -> q [T, B, A], hidden after each step [T, B, H]."""
    h = np.zeros((obs.shape[1], params[3].shape[0]))
    qs, hs = [], []
    for x in obs:
        q, h = step(params, x, h)
        qs.append(q)
        hs.append(h)
    return np.stack(qs), np.stack(hs)


class Recurrent:
    """Q-values of GRU agents over a time-major batch of ``steps`` * B transitions."""

    def __init__(self, steps):
        self.steps = steps

    def _sequences(self, fields, members):
        parts = []
        for m, i in enumerate(members):
            x = fields[i].reshape(self.steps, -1, fields[i].shape[-1])
            if len(members) > 1:
                one_hot = np.broadcast_to(np.eye(len(members))[m], x.shape[:2] + (len(members),))
                x = np.concatenate([x, one_hot], axis=-1)
            parts.append(x)
        return parts

    def _both(self, networks, groups, batch):
        current = [None] * sum(len(g) for g in groups)
        following = list(current)
        for params, members in zip(networks, groups):
            for i, obs, next_obs in zip(members, self._sequences(batch.obs, members),
                                        self._sequences(batch.next_obs, members)):
                q, hidden = unroll(params, obs)
                next_q, _ = step(params, next_obs.reshape(-1, next_obs.shape[-1]),
                                 hidden.reshape(-1, hidden.shape[-1]))
                current[i] = q.reshape(-1, q.shape[-1])
                following[i] = next_q
        return current, following

    def current(self, networks, groups, batch):
        return self._both(networks, groups, batch)[0]

    def next(self, networks, groups, batch):
        return self._both(networks, groups, batch)[1]

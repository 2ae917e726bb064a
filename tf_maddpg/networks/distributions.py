"""Discrete actions through Gumbel-softmax, continuous ones through a scaled tanh.

Every random draw is an argument, so that a test (or the PyTorch reference)
can feed the same noise and expect the same numbers. ``gumbel_from_uniform``
and ``squash_to_bounds`` take NumPy arrays as well as tensors: acting runs
them in NumPy, the update in the graph.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

TINY = 1e-20
"""Keeps log() finite in the Gumbel noise; the PyTorch reference's constant."""


def _math(x):
    return np if isinstance(x, (np.ndarray, np.generic)) else tf.math


def gumbel_from_uniform(uniform):
    """Gumbel(0, 1) samples from Uniform(0, 1) ones: g = -log(-log(u)) (tensor or NumPy)."""
    m = _math(uniform)
    return -m.log(-m.log(uniform + TINY) + TINY)


def gumbel_softmax_sample(logits: tf.Tensor, uniform: tf.Tensor,
                          temperature: float = 1.0) -> tf.Tensor:
    """The soft relaxation: softmax((logits + g) / temperature). [B, A] -> [B, A]."""
    return tf.nn.softmax((logits + gumbel_from_uniform(uniform)) / temperature, axis=-1)


def epsilon_onehot(scores: tf.Tensor, explore_uniform: tf.Tensor,
                   random_action: tf.Tensor, epsilon: float) -> tf.Tensor:
    """One-hot argmax of ``scores``, each row replaced by a random action w.p. epsilon.

    Args:
      scores: [B, A] logits or probabilities.
      explore_uniform: [B] Uniform(0, 1); a row explores when it is <= epsilon.
      random_action: [B] int, the action a row takes when it explores.
      epsilon: the exploration probability (0 gives the plain argmax).

    Returns:
      [B, A] one-hot float tensor, with no gradient.
    """
    depth = tf.shape(scores)[-1]
    greedy = tf.one_hot(tf.argmax(scores, axis=-1), depth, dtype=scores.dtype)
    if epsilon <= 0:
        return greedy
    random = tf.one_hot(random_action, depth, dtype=scores.dtype)
    keep = explore_uniform > epsilon  # [B]
    return tf.where(keep[:, None], greedy, random)


def gumbel_softmax_hard(logits: tf.Tensor, uniform: tf.Tensor, explore_uniform: tf.Tensor,
                        random_action: tf.Tensor, temperature: float = 1.0,
                        epsilon: float = 0.0) -> tf.Tensor:
    """Straight-through Gumbel-softmax: a one-hot value with the soft sample's gradient.

    Returns ``hard - stop_gradient(soft) + soft``, where ``soft`` is
    ``gumbel_softmax_sample`` and ``hard`` its ``epsilon_onehot``. [B, A].
    """
    soft = gumbel_softmax_sample(logits, uniform, temperature)
    hard = epsilon_onehot(soft, explore_uniform, random_action, epsilon)
    return tf.stop_gradient(hard - soft) + soft


def squash_to_bounds(preactivation, low, high):
    """tanh scaled to [low, high]: low + (tanh(x) + 1) * (high - low) / 2 (tensor or NumPy)."""
    if _math(preactivation) is np:
        low, high = np.asarray(low, preactivation.dtype), np.asarray(high, preactivation.dtype)
    else:
        low, high = tf.constant(low, preactivation.dtype), tf.constant(high, preactivation.dtype)
    half = (high - low) * 0.5
    return low + (_math(preactivation).tanh(preactivation) + 1.0) * half

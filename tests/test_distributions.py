"""Gumbel-softmax (soft and straight-through) and the Box squashing."""

import numpy as np
import tensorflow as tf

from tf_maddpg.networks.distributions import (epsilon_onehot, gumbel_from_uniform, gumbel_softmax_hard,
                                     gumbel_softmax_sample, squash_to_bounds)

RNG = np.random.default_rng(0)
LOGITS = tf.constant(RNG.normal(size=(64, 5)), tf.float32)
UNIFORM = tf.constant(RNG.uniform(size=(64, 5)), tf.float32)
EXPLORE = tf.constant(RNG.uniform(size=64), tf.float32)
RANDOM_ACTION = tf.constant(RNG.integers(0, 5, size=64), tf.int32)


def test_gumbel_noise_has_the_gumbel_mean():
    u = tf.constant(np.random.default_rng(1).uniform(size=200_000), tf.float32)
    assert abs(float(tf.reduce_mean(gumbel_from_uniform(u))) - np.euler_gamma) < 0.01


def test_soft_sample_is_softmax_of_the_noisy_logits_over_the_temperature():
    logits, u = LOGITS.numpy().astype(np.float64), UNIFORM.numpy().astype(np.float64)
    g = -np.log(-np.log(u + 1e-20) + 1e-20)
    for temperature in (1.0, 0.3):
        z = (logits + g) / temperature
        expected = np.exp(z - z.max(-1, keepdims=True))
        expected /= expected.sum(-1, keepdims=True)
        np.testing.assert_allclose(gumbel_softmax_sample(LOGITS, UNIFORM, temperature), expected,
                                   rtol=1e-5, atol=1e-6)


def test_numpy_and_tensor_inputs_give_the_same_numbers():
    np.testing.assert_allclose(gumbel_from_uniform(UNIFORM.numpy()), gumbel_from_uniform(UNIFORM),
                               rtol=1e-5, atol=1e-6)
    x = LOGITS.numpy()[:, :3]
    low, high = (-2.0, 0.0, 1.0), (2.0, 1.0, 3.0)
    np.testing.assert_allclose(squash_to_bounds(x, low, high),
                               squash_to_bounds(tf.constant(x), low, high), rtol=1e-5, atol=1e-6)


def test_hard_sample_is_one_hot_at_the_soft_argmax():
    hard = gumbel_softmax_hard(LOGITS, UNIFORM, EXPLORE, RANDOM_ACTION, 1.0, epsilon=0.0)
    np.testing.assert_allclose(hard, tf.one_hot(tf.argmax(LOGITS + gumbel_from_uniform(UNIFORM), -1), 5),
                               atol=1e-6)


def test_gradients_of_the_hard_sample_are_those_of_the_soft_one():
    weights = tf.constant(RNG.normal(size=(64, 5)), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(LOGITS)
        hard = gumbel_softmax_hard(LOGITS, UNIFORM, EXPLORE, RANDOM_ACTION, 0.7, epsilon=0.3)
        soft = gumbel_softmax_sample(LOGITS, UNIFORM, 0.7)
        hard_objective = tf.reduce_sum(weights * hard)
        soft_objective = tf.reduce_sum(weights * soft)
    g_hard = tape.gradient(hard_objective, LOGITS)
    g_soft = tape.gradient(soft_objective, LOGITS)
    assert float(tf.reduce_max(tf.abs(g_soft))) > 1e-3
    np.testing.assert_allclose(g_hard, g_soft, rtol=1e-6)


def test_epsilon_replaces_exactly_the_rows_that_explore():
    out = epsilon_onehot(LOGITS, EXPLORE, RANDOM_ACTION, epsilon=0.3).numpy()
    explores = EXPLORE.numpy() <= 0.3
    assert 0 < explores.sum() < 64
    np.testing.assert_array_equal(out[explores], np.eye(5)[RANDOM_ACTION.numpy()[explores]])
    np.testing.assert_array_equal(out[~explores], np.eye(5)[np.argmax(LOGITS.numpy()[~explores], -1)])
    greedy = epsilon_onehot(LOGITS, EXPLORE, RANDOM_ACTION, epsilon=0.0).numpy()
    np.testing.assert_array_equal(greedy, np.eye(5)[np.argmax(LOGITS.numpy(), -1)])


def test_squash_maps_onto_the_bounds():
    x = tf.constant([[-50.0, 0.0, 50.0]])
    out = squash_to_bounds(x, (-2.0, 0.0, 1.0), (2.0, 1.0, 3.0)).numpy()
    np.testing.assert_allclose(out, [[-2.0, 0.5, 3.0]], atol=1e-6)

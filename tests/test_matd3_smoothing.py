"""MATD3's target policy smoothing: clipped noise that leaves every target action an action.

TD3 values the target at actions near the target action. A Box agent's
target action gets clip(target_noise * N(0, 1), +-target_noise_clip) times
half its range and is clipped to its bounds. A Discrete agent's critic is only
ever trained on one-hot actions (or, with target_actions='gumbel', points of
the simplex), so its smoothed target action must be one too: the noise goes on
the target actor's logits, and the one-hot argmax (epsilon rows included) or
the Gumbel-softmax sample is formed from the noisy logits. The smoothing then
picks, in some rows, an action whose logit is within 2 * target_noise_clip of
the largest: more often where the target actor hesitates.

The definition this replaces put the noise on the one-hot's entries and
clipped them to [0, 1]: the zero entries could only rise, so the point left
the simplex (its entries summing to 2.9 for 50 actions) and the critics,
extrapolating there, diverged (tf_maddpg/algorithms/matd3/learner.py,
test_matd3_bound.py).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import numpy_maddpg as ref
from tf_maddpg import AgentSpec, MATD3Config, MATD3Learner

ROWS = 4096
DISCRETE = AgentSpec("chooser", 6, 5, True)
REFERENCE_LIKE = AgentSpec("speaker_mover", 6, 50, True)  # simple_reference's 50 actions
BOX = AgentSpec("mover", 6, 2, False, (-1.0, 0.0), (1.0, 2.0))


def smoothing_case(spec, seed=0, logits_std=1.0, **changes):
    """A one-agent learner, random target outputs and the noise of agent 0's target action.

    Returns (config, learner, outputs [ROWS, A] (logits of std ``logits_std``, or
    Box actions in the bounds), the ActionNoise, the standard normal smoothing noise).
    """
    config = MATD3Config(hidden_sizes=(8,), seed=seed, **changes)
    keras.utils.set_random_seed(seed)
    learner = MATD3Learner((spec,), config)
    rng = np.random.default_rng(seed)
    noise = learner.numpy_noise(ROWS, rng)
    if spec.discrete:
        outputs = (logits_std * rng.normal(size=(ROWS, spec.action_dim))).astype(np.float32)
    else:
        outputs = rng.uniform(spec.low, spec.high, size=(ROWS, spec.action_dim)).astype(np.float32)
    return config, learner, outputs, noise.target[0][0], noise.smoothing[0][0]


def smoothed_and_plain(learner, outputs, noise, normal):
    """(smoothed target action, target action without smoothing), both [ROWS, A] NumPy."""
    out = tf.constant(outputs)
    return (learner._smoothed_target_action(0, out, noise, normal).numpy(),
            learner._target_action(0, out, noise).numpy())


def changed_fraction(a, b):
    """The fraction of rows whose argmax differs between a and b [ROWS, A]."""
    return float(np.mean(np.argmax(a, axis=-1) != np.argmax(b, axis=-1)))


@pytest.mark.parametrize("spec", [DISCRETE, REFERENCE_LIKE], ids=lambda s: f"{s.action_dim}")
@pytest.mark.parametrize("target_noise", [0.2, 2.0])
def test_a_smoothed_discrete_target_action_is_a_one_hot_of_the_noisy_logits(spec, target_noise):
    config, learner, logits, noise, normal = smoothing_case(spec, target_noise=target_noise)
    assert config.target_noise_clip == 0.5 and config.epsilon == 0.01  # the defaults
    smoothed, plain = smoothed_and_plain(learner, logits, noise, normal)

    # A vertex of the simplex in every row: entries 0 or 1, one 1.
    assert set(np.unique(smoothed)) == {0.0, 1.0}
    np.testing.assert_array_equal(smoothed.sum(axis=-1), 1.0)
    # Exactly the definition: the one-hot argmax (epsilon rows included) of the
    # logits plus clip(target_noise * normal, +-target_noise_clip).
    clipped = np.clip(target_noise * normal, -0.5, 0.5)
    want = ref.eps_onehot(logits + clipped, noise.explore, noise.random_action, config.epsilon)
    np.testing.assert_array_equal(smoothed, want)
    # Not vacuous: the noise picks another action in some rows, and (epsilon rows
    # aside) only one whose logit is within 2 * target_noise_clip of the largest.
    assert changed_fraction(smoothed, plain) > 0.05
    greedy_rows = noise.explore > config.epsilon
    chosen = np.take_along_axis(logits, np.argmax(smoothed, -1)[:, None], -1)[:, 0]
    assert np.all((logits.max(-1) - chosen)[greedy_rows] <= 2 * 0.5 + 1e-6)


def test_smoothed_gumbel_target_actions_stay_on_the_simplex():
    config, learner, logits, noise, normal = smoothing_case(DISCRETE, target_actions="gumbel")
    smoothed, plain = smoothed_and_plain(learner, logits, noise, normal)
    clipped = np.clip(config.target_noise * normal, -0.5, 0.5)
    np.testing.assert_allclose(smoothed, ref.gumbel_soft(logits.astype(np.float64) + clipped,
                                                         noise.uniform, config.gumbel_temperature),
                               atol=1e-6)
    assert smoothed.min() >= 0.0
    np.testing.assert_allclose(smoothed.sum(axis=-1), 1.0, atol=1e-5)
    assert np.mean(np.abs(smoothed - plain)) > 0.01


def test_the_smoothed_target_action_keeps_the_mass_that_the_old_entrywise_noise_added():
    """Row sums: 1 now; 1 + 0.04 (A - 2) on average with the old noise on the entries."""
    config, learner, logits, noise, normal = smoothing_case(REFERENCE_LIKE)
    smoothed, plain = smoothed_and_plain(learner, logits, noise, normal)
    np.testing.assert_array_equal(smoothed.sum(axis=-1), 1.0)
    old = np.clip(plain + 0.5 * np.clip(config.target_noise * normal, -0.5, 0.5), 0.0, 1.0)
    assert abs(old.sum(axis=-1).mean() - (1 + 0.0399 * 48)) < 0.02  # 2.92, off the simplex


@pytest.mark.parametrize("logits_std, at_least, at_most", [(0.25, 0.3, 0.5), (2.0, 0.03, 0.1)])
def test_the_smoothing_changes_the_target_action_more_where_the_target_actor_hesitates(
        logits_std, at_least, at_most):
    """Measured (4,096 rows, 5 actions, the defaults): 0.39, 0.24, 0.13 and 0.07 of the
    target actions change for logits of std 0.25, 0.5, 1 and 2."""
    _, learner, logits, noise, normal = smoothing_case(DISCRETE, logits_std=logits_std)
    smoothed, plain = smoothed_and_plain(learner, logits, noise, normal)
    assert at_least < changed_fraction(smoothed, plain) < at_most


@pytest.mark.parametrize("spec", [DISCRETE, BOX], ids=lambda s: s.name)
def test_target_noise_zero_turns_the_smoothing_off(spec):
    _, learner, outputs, noise, normal = smoothing_case(spec, target_noise=0.0)
    smoothed, plain = smoothed_and_plain(learner, outputs, noise, normal)
    np.testing.assert_array_equal(smoothed, plain)


def test_box_smoothing_is_the_clipped_noise_in_half_widths_clipped_to_the_bounds():
    config, learner, actions, noise, normal = smoothing_case(BOX, target_noise=0.6,
                                                             target_noise_clip=0.4)
    smoothed = learner._smoothed_target_action(0, tf.constant(actions), noise, normal).numpy()
    low, high = np.array(BOX.low), np.array(BOX.high)
    clipped = np.clip(0.6 * normal, -0.4, 0.4)
    np.testing.assert_allclose(smoothed, np.clip(actions + clipped * 0.5 * (high - low), low, high),
                               atol=1e-6)
    assert np.all(smoothed >= low) and np.all(smoothed <= high)
    assert np.mean(smoothed == low) + np.mean(smoothed == high) > 0  # the bounds bit

"""The replay buffer: ring wrap-around, sample shapes and dtypes, save/load."""

import numpy as np
import pytest

from tf_maddpg import AgentSpec, Batch, ReplayBuffer

SPECS = (AgentSpec("a", 3, 4, True), AgentSpec("b", 2, 2, False, (-1.0, -1.0), (1.0, 1.0)))


def add_numbered(buffer, k, alive=(True, True), terminated=(False, False)):
    """Transition k: every number in it encodes k, so rows can be traced."""
    buffer.add(obs=[np.full(3, k), np.full(2, k)], actions=[k % 4, np.full(2, k / 100)],
               rewards=[k, -k], next_obs=[np.full(3, k + 1), np.full(2, k + 1)],
               terminated=list(terminated), alive=list(alive))


def test_ring_wraps_around_and_overwrites_the_oldest():
    buffer = ReplayBuffer(SPECS, capacity=5)
    for k in range(7):
        add_numbered(buffer, k)
    assert len(buffer) == 5 and buffer.pointer == 2
    batch = buffer.sample(5, np.random.default_rng(0))
    assert sorted(batch.rewards[0].tolist()) == [2, 3, 4, 5, 6]


def test_sample_shapes_dtypes_and_row_consistency():
    buffer = ReplayBuffer(SPECS, capacity=100)
    for k in range(50):
        add_numbered(buffer, k, terminated=(k % 7 == 0, False))
    batch = buffer.sample(16, np.random.default_rng(1))
    assert isinstance(batch, Batch)
    assert [a.shape for a in batch.obs] == [(16, 3), (16, 2)]
    assert [a.shape for a in batch.actions] == [(16, 4), (16, 2)]
    assert [a.shape for a in batch.next_obs] == [(16, 3), (16, 2)]
    for field in ("rewards", "terminated", "alive"):
        assert [a.shape for a in getattr(batch, field)] == [(16,), (16,)]
    assert all(a.dtype == np.float32 for field in batch for a in field)
    k = batch.rewards[0]
    assert len(set(k.tolist())) == 16  # distinct transitions
    np.testing.assert_array_equal(batch.obs[0][:, 0], k)
    np.testing.assert_array_equal(batch.next_obs[1][:, 0], k + 1)
    np.testing.assert_array_equal(batch.rewards[1], -k)
    np.testing.assert_array_equal(batch.actions[0], np.eye(4)[k.astype(int) % 4])  # int -> one-hot
    np.testing.assert_allclose(batch.actions[1][:, 0], k / 100, rtol=1e-6)
    np.testing.assert_array_equal(batch.terminated[0], (k % 7 == 0).astype(np.float32))
    np.testing.assert_array_equal(batch.alive[0], 1.0)


def test_dead_agents_are_stored_as_zeros_and_terminated():
    buffer = ReplayBuffer(SPECS, capacity=4)
    add_numbered(buffer, 3, alive=(True, False))
    batch = buffer.sample(1, np.random.default_rng(0))
    assert batch.alive[1][0] == 0.0 and batch.terminated[1][0] == 1.0
    for field in (batch.obs, batch.actions, batch.next_obs, batch.rewards):
        assert not np.any(field[1])
    assert batch.rewards[0][0] == 3.0


def test_sampling_more_than_stored_is_a_clear_error():
    buffer = ReplayBuffer(SPECS, capacity=10)
    add_numbered(buffer, 0)
    with pytest.raises(ValueError, match="cannot sample 2 transitions from a buffer holding 1"):
        buffer.sample(2, np.random.default_rng(0))


def test_save_load_round_trip(tmp_path):
    buffer = ReplayBuffer(SPECS, capacity=8)
    for k in range(11):
        add_numbered(buffer, k, alive=(True, k % 3 != 0))
    path = tmp_path / "buffer.npz"
    buffer.save(path)
    restored = ReplayBuffer(SPECS, capacity=8)
    restored.load(path)
    assert len(restored) == len(buffer) and restored.pointer == buffer.pointer
    a, b = buffer.sample(8, np.random.default_rng(5)), restored.sample(8, np.random.default_rng(5))
    for fa, fb in zip(a, b):
        for xa, xb in zip(fa, fb):
            np.testing.assert_array_equal(xa, xb)
    add_numbered(buffer, 11)
    add_numbered(restored, 11)  # and it goes on writing at the same place
    assert restored.pointer == buffer.pointer


def test_loading_a_buffer_of_other_shapes_is_refused(tmp_path):
    buffer = ReplayBuffer(SPECS, capacity=8)
    add_numbered(buffer, 0)
    buffer.save(tmp_path / "b.npz")
    other = ReplayBuffer((AgentSpec("a", 5, 4, True), SPECS[1]), capacity=8)
    with pytest.raises(ValueError, match="does not match"):
        other.load(tmp_path / "b.npz")

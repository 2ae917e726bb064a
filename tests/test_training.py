"""The training loop: schedule, outputs, and what happens when things go wrong."""

import csv
import json

import numpy as np
import pytest

from tf_maddpg import MADDPGConfig, load_actors, train
from toy_envs import LeavingEnv

TINY = dict(batch_size=8, buffer_size=64, minimal_size=8, update_interval=2, hidden_sizes=(8,),
            episode_length=5, eval_interval=2, eval_episodes=2)


def test_train_runs_updates_and_writes_every_output(tmp_path):
    config = MADDPGConfig(num_episodes=6, **TINY)
    result = train(config, LeavingEnv, out_dir=str(tmp_path), verbose=False)
    # 6 episodes of 5 steps: an update every 2 steps once 8 transitions are stored.
    assert result.env_steps == 30
    assert [row["episode"] for row in result.history] == [2, 4, 6]
    with open(tmp_path / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["episode", "env_steps", "wall_s",
                             "return/walker", "return/runner", "return/pointer",
                             "loss/critic/walker", "loss/critic/runner", "loss/critic/pointer",
                             "loss/actor/walker", "loss/actor/runner", "loss/actor/pointer"]
    assert all(np.isfinite(float(r["loss/critic/walker"])) for r in rows)  # updates ran by ep. 2
    assert [int(r["env_steps"]) for r in rows] == [10, 20, 30]
    assert (tmp_path / "returns.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "config.json").read_text())["batch_size"] == 8
    assert json.loads((tmp_path / "run.json").read_text())["scenario"] is None  # a factory
    actors = load_actors(result.learner.specs, tmp_path / "actors")
    obs = np.ones((1, 3), np.float32)
    np.testing.assert_allclose(actors[0](obs), result.learner.actors[0](obs), rtol=1e-6)
    # The agent that leaves early trained and evaluated without trouble.
    assert all(np.isfinite(row["return/runner"]) for row in result.history)


@pytest.mark.parametrize("async_update", [False, True])
def test_same_seed_same_run(async_update):
    config = MADDPGConfig(num_episodes=4, seed=3, async_update=async_update, **TINY)
    a = train(config, LeavingEnv, verbose=False)
    b = train(config, LeavingEnv, verbose=False)
    for x, y in zip(a.learner.actors[0].get_weights(), b.learner.actors[0].get_weights()):
        np.testing.assert_array_equal(x, y)
    assert [r["return/walker"] for r in a.history] == [r["return/walker"] for r in b.history]


class HugeRewardEnv(LeavingEnv):
    """Finite rewards (so the adapter takes them) whose squared TD error overflows."""

    def step(self, actions):
        obs, rewards, terminated, truncated, infos = super().step(actions)
        return obs, {a: 3e38 for a in rewards}, terminated, truncated, infos


def test_an_infinite_loss_stops_training_and_names_the_agent_and_the_loss():
    config = MADDPGConfig(num_episodes=4, **TINY)
    with pytest.raises(FloatingPointError, match="the critic loss of agent 'walker' became inf"):
        train(config, HugeRewardEnv, verbose=False)




def test_async_update_runs_the_same_schedule_one_update_behind():
    config = MADDPGConfig(num_episodes=6, **TINY)
    sync = train(config, LeavingEnv, verbose=False)
    lagged = train(config.replace(async_update=True), LeavingEnv, verbose=False)
    assert (lagged.env_steps, lagged.num_updates) == (sync.env_steps, sync.num_updates)
    assert all(np.isfinite(v) for row in lagged.history for v in row.values())
    # Acting one update behind fills the buffer with other transitions: other weights.
    assert not all(np.array_equal(x, y) for x, y in
                   zip(sync.learner.actors[0].get_weights(), lagged.learner.actors[0].get_weights()))

"""Checkpoints, resuming, and stopping: nothing is lost and a resumed run is the same run."""

import os
import signal

import numpy as np
import pytest
import tensorflow as tf

from tf_maddpg import (CheckpointError, EnvAdapter, MADDPGConfig, MATD3Config, RunFolderError,
                       train)
from tf_maddpg.storage.replay import ReplayBuffer
from tf_maddpg.runs.checkpoint import Progress, TrainingCheckpoint
from tf_maddpg.runs.folder import prepare_run_folder
from tf_maddpg.algorithms.maddpg.learner import MADDPGLearner
from tf_maddpg import MultiAgentPolicy
from test_training import HugeRewardEnv
from toy_envs import LeavingEnv

TINY = dict(batch_size=8, buffer_size=64, minimal_size=8, update_interval=2, hidden_sizes=(8,),
            episode_length=5, eval_interval=2, eval_episodes=2, checkpoint_interval=2)


def without_wall_time(history):
    return [{k: v for k, v in row.items() if k != "wall_s"} for row in history]


class CtrlCEnv(LeavingEnv):
    """Presses Ctrl-C (a real SIGINT) at the given global env steps."""

    steps = 0
    press_at = ()

    def step(self, actions):
        CtrlCEnv.steps += 1
        if CtrlCEnv.steps in CtrlCEnv.press_at:
            signal.raise_signal(signal.SIGINT)
        return super().step(actions)


@pytest.fixture
def ctrl_c():
    def press_at(*steps):
        CtrlCEnv.steps, CtrlCEnv.press_at = 0, steps
    yield press_at
    CtrlCEnv.press_at = ()


# MADDPG's synchronous run in the default run; the async one and MATD3's are extended.
@pytest.mark.parametrize("config_class,async_update",
                         [(MADDPGConfig, False),
                          pytest.param(MADDPGConfig, True, marks=pytest.mark.extended),
                          pytest.param(MATD3Config, False, marks=pytest.mark.extended)])
def test_ctrl_c_saves_a_checkpoint_and_a_resumed_run_equals_an_unbroken_one(tmp_path, ctrl_c,
                                                                          config_class,
                                                                          async_update):
    config = config_class(num_episodes=8, async_update=async_update, **TINY)
    unbroken = train(config, LeavingEnv, out_dir=str(tmp_path / "a"), verbose=False)

    ctrl_c(23)  # in training episode 5 (evaluations take env steps too: 2 x 5 per evaluation)
    stopped = train(config.replace(num_episodes=6), CtrlCEnv, out_dir=str(tmp_path / "b"),
                    verbose=False)
    assert stopped.interrupted and stopped.episodes == 3  # the episode in progress is finished
    assert sorted(os.listdir(tmp_path / "b" / "checkpoints")) == [
        "buffer-2.npz", "buffer-3.npz", "checkpoint", "ckpt-2.data-00000-of-00001",
        "ckpt-2.index", "ckpt-3.data-00000-of-00001", "ckpt-3.index"]
    assert not (tmp_path / "b" / "saved_model").exists()  # exported only when a run ends

    resumed = train(config, CtrlCEnv, out_dir=str(tmp_path / "b"), verbose=False, resume=True)
    assert not resumed.interrupted
    assert (resumed.episodes, resumed.env_steps) == (8, unbroken.env_steps)
    assert without_wall_time(resumed.history) == without_wall_time(unbroken.history)
    kinds = ["actors", "critics", "target_actors", "target_critics"]
    if config_class is MATD3Config:
        kinds += ["critics2", "target_critics2"]
    for kind in kinds:
        for a, b in zip(getattr(unbroken.learner, kind), getattr(resumed.learner, kind)):
            for x, y in zip(a.get_weights(), b.get_weights()):
                np.testing.assert_array_equal(x, y)
    for a, b in zip(unbroken.learner.actor_optimizers, resumed.learner.actor_optimizers):
        assert int(a.iterations) == int(b.iterations) > 0
    assert (tmp_path / "b" / "saved_model" / "walker" / "saved_model.pb").exists()


def test_a_second_ctrl_c_stops_at_once_and_keeps_the_last_checkpoint(tmp_path, ctrl_c):
    ctrl_c(22, 23)
    with pytest.raises(KeyboardInterrupt):
        train(MADDPGConfig(num_episodes=8, **TINY), CtrlCEnv, out_dir=str(tmp_path),
              verbose=False)
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-2")


def test_an_infinite_loss_keeps_the_last_good_checkpoint(tmp_path):
    config = MADDPGConfig(num_episodes=8, **TINY)
    train(config.replace(num_episodes=2), LeavingEnv, out_dir=str(tmp_path), verbose=False)
    with pytest.raises(FloatingPointError, match=r"loss of agent 'walker' became inf .*"
                                                 r"last good checkpoint \(episode 2\)"):
        train(config, HugeRewardEnv, out_dir=str(tmp_path), verbose=False, resume=True)
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-2")


def make_checkpoint(directory, seed=0):
    specs = EnvAdapter(LeavingEnv()).specs
    config = MADDPGConfig(seed=seed, **TINY)
    learner = MADDPGLearner(specs, config)
    policy = MultiAgentPolicy(specs, learner.actors, rng=seed)
    buffer = ReplayBuffer(specs, config.buffer_size)
    rng = np.random.default_rng(seed)
    saver = TrainingCheckpoint(str(directory), learner, policy, buffer,
                               {"replay": rng, "exploration": policy.rng})
    return saver, learner, buffer, rng


def fill(buffer, n, value):
    for _ in range(n):
        obs = [np.full(s.obs_dim, value, np.float32) for s in buffer.specs]
        actions = [np.eye(s.action_dim, dtype=np.float32)[0] for s in buffer.specs]
        buffer.add(obs, actions, [value] * 3, obs, [False] * 3, [True] * 3)


def test_a_corrupt_checkpoint_falls_back_to_the_previous_one_and_says_so(tmp_path):
    saver, learner, buffer, rng = make_checkpoint(tmp_path)
    fill(buffer, 5, 1.0)
    saver.save(Progress(episode=2, env_steps=10))
    kernel = learner.actors[0].weights[0].numpy().copy()
    fill(buffer, 5, 2.0)
    learner.actors[0].weights[0].assign(kernel + 1.0)
    saver.save(Progress(episode=4, env_steps=20))
    data = tmp_path / "ckpt-4.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:100])  # a torn write

    restorer, learner2, buffer2, _ = make_checkpoint(tmp_path, seed=1)
    with pytest.warns(RuntimeWarning, match="ckpt-4 could not be restored .*falling back"):
        progress, _, _ = restorer.restore()
    assert (progress.episode, progress.env_steps) == (2, 10)
    np.testing.assert_array_equal(learner2.actors[0].weights[0].numpy(), kernel)
    assert len(buffer2) == 5


def test_checkpoints_that_cannot_be_read_raise_a_clear_error(tmp_path):
    saver, *_ = make_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint in .*nothing to resume"):
        saver.restore()
    saver.save(Progress(episode=1))
    os.remove(tmp_path / "buffer-1.npz")
    with pytest.raises(CheckpointError, match="(?s)none of the checkpoints.*buffer-1.npz is missing"):
        saver.restore()


def test_a_run_killed_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    saver, learner, buffer, rng = make_checkpoint(tmp_path)
    fill(buffer, 3, 1.0)
    saver.save(Progress(episode=2, env_steps=6))
    state = rng.bit_generator.state
    rng.random(5)
    fill(buffer, 3, 2.0)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies while TensorFlow writes its files
    monkeypatch.setattr(saver.manager, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        saver.save(Progress(episode=4, env_steps=12))

    restorer, _, buffer2, rng2 = make_checkpoint(tmp_path, seed=5)
    progress, _, _ = restorer.restore()
    assert progress.episode == 2 and len(buffer2) == 3
    assert rng2.bit_generator.state == state  # the sampling generator is restored too


def test_resume_refuses_other_runs_other_agents_and_other_configs(tmp_path):
    config = MADDPGConfig(num_episodes=2, **TINY)
    with pytest.raises(RunFolderError, match="not a tf_maddpg run folder"):
        train(config, LeavingEnv, out_dir=str(tmp_path), resume=True, verbose=False)
    train(config, LeavingEnv, out_dir=str(tmp_path), verbose=False)
    with pytest.raises(RunFolderError, match="already holds a run.*--resume"):
        train(config, LeavingEnv, out_dir=str(tmp_path), verbose=False)
    with pytest.raises(RunFolderError, match="different config: actor_lr"):
        train(config.replace(actor_lr=0.5), LeavingEnv, out_dir=str(tmp_path), resume=True,
              verbose=False)
    # How the run computes may change: the workers, and XLA (the same update, rounded
    # differently), so that a run made before a faster default goes on with it.
    assert prepare_run_folder(str(tmp_path), config.replace(jit_compile=True, env_workers=1),
                              None, {}, resume=True, overwrite=False).config == config
    with pytest.raises(RunFolderError, match="was trained with agents walker"):
        train(config, TwoAgentEnv, out_dir=str(tmp_path), resume=True, verbose=False)
    result = train(config.replace(num_episodes=4), LeavingEnv, out_dir=str(tmp_path),
                   resume=True, verbose=False)
    assert [r["episode"] for r in result.history] == [2, 4]
    overwritten = train(config, LeavingEnv, out_dir=str(tmp_path), overwrite=True, verbose=False)
    assert [r["episode"] for r in overwritten.history] == [2]


class TwoAgentEnv(LeavingEnv):
    """LeavingEnv without its pointer."""

    def __init__(self):
        super().__init__()
        self.possible_agents = ["walker", "runner"]

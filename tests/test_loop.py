"""The training loop itself: what it stores, what the acting policy acts with, and
that a Box-action agent learns. Each test fails if the loop stores the wrong
field, stores truncation as termination, or never hands the learned weights to
the acting policy (tests/break_the_loop.py makes those mistakes on purpose)."""

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo import ParallelEnv

from tf_maddpg import MADDPGConfig, train
from tf_maddpg.storage.replay import TransitionLayout
from tf_maddpg.training import updater as updater_module
from toy_envs import LeavingEnv


class RecordingEnv(LeavingEnv):
    """LeavingEnv that logs every step it takes: what it showed, got and gave back."""

    log = []

    def reset(self, seed=None, options=None):
        obs, infos = super().reset(seed, options)
        self._last = obs
        return obs, infos

    def step(self, actions):
        obs, rewards, terminated, truncated, infos = super().step(actions)
        RecordingEnv.log.append(dict(obs=self._last, actions=dict(actions), rewards=rewards,
                                     next_obs=obs, terminated=terminated, truncated=truncated))
        self._last = obs
        return obs, rewards, terminated, truncated, infos


def expected_row(layout, names, entry):
    """The packed row the buffer must hold for one logged step."""
    row = np.zeros(layout.width, np.float32)
    for i, name in enumerate(names):
        if name not in entry["actions"]:  # not alive: zeros, and reads terminated
            row[layout.slices["terminated"][i]] = 1.0
            continue
        row[layout.slices["obs"][i]] = entry["obs"][name]
        row[layout.slices["next_obs"][i]] = entry["next_obs"][name]
        action = entry["actions"][name]
        cols = layout.slices["actions"][i]
        if np.ndim(action) == 0:
            row[cols.start + int(action)] = 1.0
        else:
            row[cols] = action
        row[layout.slices["rewards"][i]] = entry["rewards"][name]
        row[layout.slices["terminated"][i]] = float(entry["terminated"][name])  # not truncated
        row[layout.slices["alive"][i]] = 1.0
    return row


def test_every_stored_transition_is_the_environments_and_the_buffer_wraps(tmp_path):
    RecordingEnv.log = []
    # 7 episodes of 5 steps = 35 transitions into a ring of 16; no evaluation steps the env.
    config = MADDPGConfig(num_episodes=7, batch_size=4, buffer_size=16, minimal_size=8,
                          update_interval=3, hidden_sizes=(8,), episode_length=5,
                          eval_interval=100, eval_episodes=1, exploration_noise=0.5)
    result = train(config, RecordingEnv, out_dir=str(tmp_path), verbose=False)
    log = RecordingEnv.log
    assert len(log) == result.env_steps == 35
    specs = result.learner.specs
    layout = TransitionLayout(specs)
    with np.load(tmp_path / "checkpoints" / "buffer-7.npz") as saved:
        stored, pointer = saved["transitions"], int(saved["pointer"])
    assert stored.shape == (16, layout.width) and pointer == 35 % 16  # wrapped twice
    newest_first = [stored[(pointer - 1 - k) % 16] for k in range(16)]
    names = [s.name for s in specs]
    for k, row in enumerate(newest_first):
        np.testing.assert_allclose(row, expected_row(layout, names, log[-1 - k]), rtol=1e-6,
                                   atol=1e-7, err_msg=f"transition {len(log) - k}")
    # The episode's last step is a truncation: it must not be stored as a termination.
    last = log[-1]
    assert all(last["truncated"].values())
    walker = names.index("walker")
    assert newest_first[0][layout.slices["terminated"][walker]].item() == 0.0


def test_the_acting_policy_acts_with_the_learners_weights_after_every_update(monkeypatch):
    checks = []
    update = updater_module.Updater.update

    def update_and_compare(self, data):
        update(self, data)
        obs = np.random.default_rng(len(checks)).normal(
            size=(4, sum(s.obs_dim for s in self.learner.specs))).astype(np.float32)
        keras_out = np.concatenate([actor(part).numpy() for actor, part in zip(
            self.learner.actors, np.split(obs, np.cumsum(
                [s.obs_dim for s in self.learner.specs])[:-1], axis=1))], axis=1)
        checks.append(np.max(np.abs(self.policy.outputs_packed(obs) - keras_out)))

    monkeypatch.setattr(updater_module.Updater, "update", update_and_compare)
    config = MADDPGConfig(num_episodes=6, batch_size=8, buffer_size=64, minimal_size=8,
                          update_interval=2, hidden_sizes=(8,), episode_length=5,
                          eval_interval=100, eval_episodes=1)
    result = train(config, LeavingEnv, verbose=False)
    assert len(checks) == result.num_updates > 5
    assert max(checks) < 1e-5


class TargetEnv(ParallelEnv):
    """One agent, Box(-1, 1) action: reward -(action - target)^2, the target in its observation.

    A fresh target every step, so only an agent that reads its observation scores
    well: the best constant action (0) scores about -0.33 a step, uniformly random
    actions about -0.67, following the target 0.
    """

    metadata = {"name": "target_v0"}

    def __init__(self, max_steps=5):
        self.possible_agents = ["agent_0"]
        self.max_steps = max_steps
        self.agents = []

    def observation_space(self, agent):
        return spaces.Box(-1.0, 1.0, (1,), np.float32)

    def action_space(self, agent):
        return spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, seed=None, options=None):
        self.rng = np.random.default_rng(seed)
        self.agents, self.t = list(self.possible_agents), 0
        self.target = self.rng.uniform(-1, 1, 1).astype(np.float32)
        return {"agent_0": self.target.copy()}, {"agent_0": {}}

    def step(self, actions):
        self.t += 1
        reward = -float(np.sum((np.asarray(actions["agent_0"]) - self.target) ** 2))
        self.target = self.rng.uniform(-1, 1, 1).astype(np.float32)
        done = self.t >= self.max_steps
        if done:
            self.agents = []
        return ({"agent_0": self.target.copy()}, {"agent_0": reward}, {"agent_0": False},
                {"agent_0": done}, {"agent_0": {}})


@pytest.mark.parametrize("seed", [0])
def test_a_box_action_agent_learns_to_follow_its_observation(seed):
    config = MADDPGConfig(num_episodes=300, batch_size=64, buffer_size=5_000, minimal_size=128,
                          update_interval=5, hidden_sizes=(32, 32), episode_length=5,
                          actor_lr=3e-3, critic_lr=3e-3, gamma=0.0, eval_interval=100,
                          eval_episodes=20, exploration_noise=0.3, seed=seed)
    result = train(config, TargetEnv, verbose=False)
    first, last = result.history[0]["return/agent_0"], result.history[-1]["return/agent_0"]
    # Over 5 steps: the best constant action about -1.7, random actions about -3.3.
    assert last > -0.5, (first, last)

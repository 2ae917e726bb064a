"""Rendering a greedy episode to frames and an animated GIF, headless."""

import itertools

import keras
import numpy as np
import pytest
from PIL import Image

from tf_maddpg import MultiAgentPolicy, make_actor, make_env
from tf_maddpg.render import record_gif, render_episode, save_gif
from tf_maddpg.envs import VecEnv
from tf_maddpg.training import play_episodes


def untrained_policy(specs):
    keras.utils.set_random_seed(0)
    return MultiAgentPolicy(specs, [make_actor(s) for s in specs])


def distinct_runs(frames):
    """How many frames a GIF keeps: Pillow merges identical consecutive frames."""
    return 1 + sum(not np.array_equal(a, b) for a, b in itertools.pairwise(frames))


def test_render_episode_gives_a_frame_after_the_reset_and_each_step():
    env = make_env("simple_adversary_v3", max_cycles=5, render_mode="rgb_array")
    policy = untrained_policy(env.specs)
    frames, returns = render_episode(policy, env, max_steps=5, seed=3)
    assert len(frames) == 6
    assert all(f.shape == (700, 700, 3) and f.dtype == np.uint8 for f in frames)
    np.testing.assert_allclose(returns, play_episodes(policy, VecEnv.of(env), [3], 5)[0])
    env.close()


def test_record_gif_on_simple_adversary(tmp_path):
    env = make_env("simple_adversary_v3", max_cycles=5, render_mode="rgb_array")
    policy = untrained_policy(env.specs)
    frames, expected = render_episode(policy, env, max_steps=5, seed=3)
    env.close()
    path = tmp_path / "gifs" / "episode.gif"
    returns = record_gif(policy, "simple_adversary_v3", path, max_steps=5, seed=3, fps=5)
    np.testing.assert_allclose(returns, expected)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.size == (700, 700)
        assert gif.n_frames == distinct_runs(frames)
        assert gif.n_frames > 1
        assert gif.info["loop"] == 0
        durations = []
        for k in range(gif.n_frames):
            gif.seek(k)
            durations.append(gif.info["duration"])
    assert sum(durations) == 6 * 200  # merged frames add their durations: 6 frames at 5 fps


def test_record_gif_takes_an_env_factory(tmp_path):
    env = make_env("simple_adversary_v3", max_cycles=5, render_mode="rgb_array")
    policy = untrained_policy(env.specs)
    expected = play_episodes(policy, VecEnv.of(env), [1], 5)[0]
    env.close()
    returns = record_gif(policy, lambda: make_env("simple_adversary_v3", max_cycles=5,
                                                  render_mode="rgb_array"),
                         tmp_path / "f.gif", max_steps=5, seed=1)
    np.testing.assert_allclose(returns, expected)
    assert (tmp_path / "f.gif").read_bytes()[:6] == b"GIF89a"


def test_save_gif_keeps_every_distinct_frame(tmp_path):
    frames = [np.full((8, 8, 3), 40 * k, np.uint8) for k in range(4)]
    save_gif(frames, tmp_path / "f.gif", fps=10)
    with Image.open(tmp_path / "f.gif") as gif:
        assert gif.n_frames == 4


@pytest.mark.filterwarnings("ignore:.*without specifying any render mode")
def test_an_env_without_rgb_frames_is_rejected():
    env = make_env("simple_adversary_v3", max_cycles=5)  # no render_mode
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        render_episode(untrained_policy(env.specs), env, max_steps=5)
    env.close()


def test_a_policy_for_other_agents_is_rejected(tmp_path):
    other = make_env("simple_spread_v3", N=2)
    specs = other.specs
    other.close()
    with pytest.raises(ValueError, match="the policy acts for"):
        record_gif(untrained_policy(specs), "simple_adversary_v3", tmp_path / "x.gif")

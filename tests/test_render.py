"""Rendering a greedy episode to frames and an animated GIF, headless."""

import itertools

import keras
import numpy as np
import pytest
from PIL import Image

from tf_maddpg import MultiAgentPolicy, make_actor, make_env
from tf_maddpg.envs.adapter import EnvAdapter
from tf_maddpg.envs.toy import RendezvousEnv
from tf_maddpg.render import _Entity, draw_frames, record_gif, render_episode, save_gif
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


def test_an_env_without_rgb_frames_is_rejected():
    env = EnvAdapter(RendezvousEnv())  # not mpe2, and no render_mode: nothing to draw
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        render_episode(untrained_policy(env.specs), env, max_steps=5)
    env.close()


def test_other_envs_are_drawn_by_their_own_render(tmp_path):
    factory = lambda: RendezvousEnv(render_mode="rgb_array")  # noqa: E731
    policy = untrained_policy(EnvAdapter(factory()).specs)
    returns = record_gif(policy, factory, tmp_path / "r.gif", max_steps=3, seeds=[0, 1])
    assert returns.shape == (2, 2)
    with Image.open(tmp_path / "r.gif") as gif:
        assert gif.size == (200, 200)


def test_mpe2_frames_keep_one_camera_and_label_every_agent():
    """A static landmark stays on the same pixels in every frame, whatever the agents do:
    the camera is fixed for the episode (mpe2's own view re-zooms every frame)."""
    env = make_env("simple_adversary_v3", max_cycles=8)
    frames, _ = render_episode(untrained_policy(env.specs), env, max_steps=8, seed=5)
    world = env.env.raw.world
    landmark = next(e for e in world.landmarks)
    colour = np.clip(np.asarray(landmark.color) * 200, 0, 255).astype(np.uint8)
    masks = [solid(np.all(f == colour, axis=-1)) for f in frames]
    full = max(int(m.sum()) for m in masks)
    unhidden = [m for m in masks if m.sum() == full]  # frames where no agent covers it
    assert full > 100 and len(unhidden) >= len(frames) // 2
    assert all(np.array_equal(m, unhidden[0]) for m in unhidden)
    env.close()


def solid(mask):
    """Pixels whose four neighbours share their colour: a filled circle, not antialiased text."""
    inner = mask.copy()
    inner[1:-1, 1:-1] &= mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    inner[[0, -1], :] = inner[:, [0, -1]] = False
    return inner


def test_draw_frames_fits_every_position_of_the_episode():
    agent = _Entity("runner", 0.2, (200, 0, 0), True)
    still = _Entity("post", 0.2, (0, 0, 200), False)
    snapshots = [((agent, still), np.array([[x, x], [1.0, -1.0]])) for x in (0.0, 2.0, 4.0)]
    frames = draw_frames(snapshots, size=200)
    for frame in frames:  # the moving agent is inside every frame, never clipped away
        assert np.all(frame == (200, 0, 0), axis=-1).sum() > 10
    posts = [np.argwhere(np.all(f == (0, 0, 200), axis=-1)).mean(axis=0) for f in frames]
    np.testing.assert_allclose(posts[0], posts[-1])  # same camera for the whole episode


def test_a_policy_for_other_agents_is_rejected(tmp_path):
    other = make_env("simple_spread_v3", N=2)
    specs = other.specs
    other.close()
    with pytest.raises(ValueError, match="the policy acts for"):
        record_gif(untrained_policy(specs), "simple_adversary_v3", tmp_path / "x.gif")


def test_labels_never_run_together_and_sit_by_their_own_circle():
    """Three agents nearly on one spot (as adversary_0 and agent_1 often are) and two
    landmarks: every entity's name has its own box, beside its own circle or joined to it
    by a line, inside the frame and clear of the legend; the legend names the colours."""
    from tf_maddpg.render import _font, _legend_box, _touches, label_boxes, legend_entries

    entities = (_Entity("adversary_0", 0.075, (170, 70, 70), True),
                _Entity("agent_0", 0.05, (70, 70, 170), True),
                _Entity("agent_1", 0.05, (70, 70, 170), True),
                _Entity("landmark 0", 0.08, (30, 30, 30), False),
                _Entity("landmark 1", 0.08, (30, 130, 30), False))
    circles = [(350.0, 350.0, 15.0), (352.0, 351.0, 10.0), (349.0, 353.0, 10.0),
               (100.0, 600.0, 16.0), (650.0, 100.0, 16.0)]
    font = _font(14)
    legend = legend_entries(entities)
    assert [kind for kind, _ in legend] == ["adversary", "agent", "landmark", "landmark"]
    from PIL import Image, ImageDraw

    reserved = _legend_box(legend, font, 700, ImageDraw.Draw(Image.new("RGB", (1, 1))))
    boxes = label_boxes(entities, circles, font, 700, reserved=[reserved])
    assert sorted(k for k, _ in boxes) == [0, 1, 2, 3, 4]  # landmarks are labelled too
    for n, (k, box) in enumerate(boxes):
        assert 0 <= box[0] and box[2] <= 700 and 0 <= box[1] and box[3] <= 700
        for other in [b for _, b in boxes[:n]] + [reserved]:
            assert not (box[0] < other[2] and other[0] < box[2] and box[1] < other[3]
                        and other[1] < box[3]), (entities[k].name, box, other)
    first = dict(boxes)
    assert _touches(first[0], circles[0])  # the first agent's label right by its circle
    assert _touches(first[3], circles[3]) and _touches(first[4], circles[4])

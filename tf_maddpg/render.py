"""Watching a policy: greedy episodes drawn to frames and written as a GIF.

An mpe2 scenario is drawn here, from its world's entity positions, with a
fixed camera: the view covers every position the episode reaches (computed
once the episode is over), so that nothing is clipped at the edges and the
picture does not re-zoom from frame to frame as mpe2's own ``render()`` does.
Every agent is labelled with its name, and a caption gives the episode, its
seed and the step. Other environments are drawn by their own ``render()``
(made with ``render_mode="rgb_array"``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple, Optional

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tf_maddpg.envs.adapter import EnvAdapter
from tf_maddpg.envs.sources import EnvSource, build_adapter
from tf_maddpg.envs.vec_env import VecEnv
from tf_maddpg.training.evaluation import play_episodes

FRAME_SIZE = 700
"""Width and height in pixels of a drawn frame."""


class _Entity(NamedTuple):
    name: str
    size: float
    color: tuple
    is_agent: bool


def render_episode(policy, env: EnvAdapter, max_steps: int, seed: int = 0,
                   caption: Optional[str] = None) -> tuple[list[np.ndarray], np.ndarray]:
    """Plays one greedy episode and draws it.

    Args:
      policy: acts greedily for every agent (``act_packed``).
      env: an adapter around an mpe2 scenario (drawn here, with a fixed
        camera and agent labels), or around another environment made with
        ``render_mode="rgb_array"`` (drawn by its ``render()``).
      max_steps: the most steps to play (the episode may end sooner).
      seed: the reset seed.
      caption: text for the top of every drawn frame (default: the seed);
        the step number is added.

    Returns:
      ``(frames, returns)``: one [H, W, 3] uint8 frame after the reset and one
      after each step (so steps + 1 frames), and each agent's return.

    Raises:
      ValueError: the environment is not an mpe2 scenario and does not
        return RGB frames.
    """
    world = _world_of(env)
    snapshots, frames = [], []

    def observe():
        if world is not None:
            snapshots.append(_snapshot(world))
        else:
            frames.append(_frame(env))

    returns = play_episodes(policy, VecEnv.of(env), [seed], max_steps, observe=observe)
    if world is not None:
        frames = draw_frames(snapshots, caption if caption is not None else f"seed {seed}")
    return frames, returns[0]


def draw_frames(snapshots: Sequence[tuple], caption: str = "",
                size: int = FRAME_SIZE) -> list[np.ndarray]:
    """Frames of an episode's entity snapshots, all with one camera that shows every position.

    Args:
      snapshots: per step, ``(entities, positions)``: the entities (name,
        size, colour, whether it is an agent) and their [E, 2] positions.
      caption: drawn at the top left, followed by the step number.
      size: width and height in pixels.

    Returns:
      One [size, size, 3] uint8 frame per snapshot.
    """
    if not snapshots:
        return []
    centre, half = _camera(snapshots)
    scale = (size / 2) / half
    font = _font(max(11, size // 50))
    frames = []
    for step, (entities, positions) in enumerate(snapshots):
        image = Image.new("RGB", (size, size), (255, 255, 255))
        draw = ImageDraw.Draw(image)
        # Landmarks first, agents on top of them.
        order = sorted(range(len(entities)), key=lambda k: entities[k].is_agent)
        for k in order:
            entity = entities[k]
            x, y = _to_pixels(positions[k], centre, scale, size)
            radius = max(entity.size * scale, 2.0)
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=entity.color,
                         outline=(0, 0, 0))
            if entity.is_agent:
                text_x = x + radius + 3
                width = draw.textlength(entity.name, font=font)
                if text_x + width > size - 2:  # keep the label inside the frame
                    text_x = x - radius - 3 - width
                draw.text((text_x, y - radius - _line_height(font)), entity.name, fill=(0, 0, 0),
                          font=font)
        draw.text((8, 6), f"{caption}  step {step}/{len(snapshots) - 1}".strip(),
                  fill=(60, 60, 60), font=font)
        frames.append(np.asarray(image, np.uint8))
    return frames


def _line_height(font) -> int:
    """The pixel height of a Pillow font's line (for placing labels)."""
    left, top, right, bottom = font.getbbox("Ag")
    return int(bottom - top) + 2


def save_gif(frames: Sequence[np.ndarray], path: str | os.PathLike, fps: float = 10.0) -> str:
    """Writes frames as an animated GIF that loops forever; returns ``path``.

    Pillow merges identical consecutive frames into one longer frame, so the
    file can hold fewer frames than were given.

    Raises:
      ValueError: ``frames`` is empty or ``fps`` is not positive.
      OSError: the file could not be written (``path`` is left as it was).
    """
    if not frames:
        raise ValueError("save_gif needs at least one frame")
    if not fps > 0:
        raise ValueError(f"fps={fps} is invalid: expected a number > 0")
    from tf_maddpg.runs.atomic import replacing

    images = [Image.fromarray(np.asarray(frame, np.uint8)) for frame in frames]
    directory = os.path.dirname(os.fspath(path))
    if directory:
        os.makedirs(directory, exist_ok=True)
    with replacing(os.fspath(path)) as temporary:  # a full disk leaves no half-written GIF
        images[0].save(temporary, format="GIF", save_all=True, append_images=images[1:],
                       duration=round(1000 / fps), loop=0)
    return os.fspath(path)


def record_gif(policy, env: EnvSource, path: str | os.PathLike,
               max_steps: int = 25, seed: int = 0, fps: float = 10.0,
               env_kwargs: dict | None = None,
               seeds: Sequence[int] | None = None) -> np.ndarray:
    """Plays greedy episodes, writes them one after another to ``path`` as a GIF.

    Args:
      policy: the policy to watch; its agents must match the environment's.
      env: an mpe2 scenario name (built with ``max_cycles=max_steps``) or a
        zero-argument factory of a PettingZoo env or ``EnvAdapter`` (an mpe2
        one, or any env made with ``render_mode="rgb_array"``).
      path: where to write the GIF.
      max_steps: the most steps of an episode.
      seed: the reset seed of the one episode (when ``seeds`` is None).
      fps: frames per second of the GIF.
      env_kwargs: scenario options for a named scenario (``continuous_actions``...).
      seeds: play one episode per seed, in order, into the same GIF.

    Returns:
      Each agent's return, in the environment's agent order: [num_agents]
      for the one episode of ``seed``, or [len(seeds), num_agents] when
      ``seeds`` is given.

    Raises:
      ValueError: the environment does not return RGB frames, its agents
        differ from the policy's, ``seeds`` is empty, or ``fps`` is not positive.
    """
    if not fps > 0:
        raise ValueError(f"fps={fps} is invalid: expected a number > 0")
    if seeds is not None and len(seeds) == 0:
        raise ValueError("seeds is empty: give at least one episode's seed")
    adapter = build_adapter(env, max_steps, env_kwargs)
    episodes = [seed] if seeds is None else list(seeds)
    frames, returns = [], []
    try:
        names = tuple(spec.name for spec in policy.specs)
        if names != adapter.agents:
            raise ValueError(f"the policy acts for {names} but the environment's agents are "
                             f"{adapter.agents}")
        title = f"{env}  " if isinstance(env, str) else ""
        for k, episode_seed in enumerate(episodes):
            which = f"episode {k + 1}/{len(episodes)}, " if len(episodes) > 1 else ""
            episode_frames, episode_returns = render_episode(
                policy, adapter, max_steps, episode_seed,
                caption=f"{title}{which}seed {episode_seed}")
            frames += episode_frames
            returns.append(episode_returns)
    finally:
        adapter.close()
    save_gif(frames, path, fps)
    return returns[0] if seeds is None else np.array(returns)


def _world_of(env: EnvAdapter):
    """The mpe2 world under an adapter, or None for another environment."""
    inner = getattr(env, "env", None)
    for candidate in (getattr(inner, "raw", None), getattr(inner, "unwrapped", None)):
        world = getattr(candidate, "world", None)
        if world is not None and hasattr(world, "entities"):
            return world
    return None


def _snapshot(world) -> tuple:
    entities = tuple(
        _Entity(str(getattr(e, "name", "")), float(getattr(e, "size", 0.05)),
                tuple(int(c) for c in np.clip(np.asarray(e.color, float)[:3] * 200, 0, 255)),
                bool(getattr(e, "movable", False)) and hasattr(e, "action"))
        for e in world.entities)
    positions = np.array([np.asarray(e.state.p_pos, float)[:2] for e in world.entities])
    return entities, positions


def _camera(snapshots) -> tuple[np.ndarray, float]:
    """The centre and the half-width of a square view that holds every entity of every step."""
    low = np.full(2, np.inf)
    high = np.full(2, -np.inf)
    for entities, positions in snapshots:
        sizes = np.array([e.size for e in entities])[:, None]
        low = np.minimum(low, (positions - sizes).min(axis=0))
        high = np.maximum(high, (positions + sizes).max(axis=0))
    centre = (low + high) / 2
    half = max(float((high - low).max()) / 2, 0.5) * 1.12  # a margin for the labels
    return centre, half


def _to_pixels(position, centre, scale, size) -> tuple[float, float]:
    x = (position[0] - centre[0]) * scale + size / 2
    y = size / 2 - (position[1] - centre[1]) * scale  # y up, as mpe2 draws it
    return float(x), float(y)


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        return ImageFont.load_default()


def _frame(env: EnvAdapter) -> np.ndarray:
    # EnvAdapter has no render(); the wrapped ParallelEnv renders.
    frame = env.render()
    if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[-1] == 3):
        raise ValueError("the environment returned no RGB frame from render(); build it "
                         "with render_mode='rgb_array'")
    return frame

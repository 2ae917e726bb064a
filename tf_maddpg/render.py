"""Watching a policy: greedy episodes drawn to frames and written as a GIF.

An mpe2 scenario is drawn here, from its world's entity positions, with a
fixed camera: the view covers every position the episode reaches (computed
once the episode is over), so that nothing is clipped at the edges and the
picture does not re-zoom from frame to frame as mpe2's own ``render()`` does.
A caption gives the episode, its seed and the step; every entity is labelled
with its name beside its own circle (labels never overlap), and a legend at the
bottom left names the colours. Other environments are drawn by their own
``render()`` (made with ``render_mode="rgb_array"``).
"""

from __future__ import annotations

import os
import re
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
        circles = [(*_to_pixels(p, centre, scale, size), max(e.size * scale, 2.0))
                   for e, p in zip(entities, positions)]
        # Landmarks first, agents on top of them.
        for k in sorted(range(len(entities)), key=lambda k: entities[k].is_agent):
            x, y, radius = circles[k]
            draw.ellipse((x - radius, y - radius, x + radius, y + radius),
                         fill=entities[k].color, outline=(0, 0, 0))
        legend = legend_entries(entities)
        reserved = [_legend_box(legend, font, size, draw)] if legend else []
        for k, box in label_boxes(entities, circles, font, size, draw, reserved):
            x, y, radius = circles[k]
            if not _touches(box, (x, y, radius)):  # moved off its circle: a leader line
                draw.line((x, y, min(max(x, box[0]), box[2]), min(max(y, box[1]), box[3])),
                          fill=(120, 120, 120))
            draw.text((box[0], box[1]), entities[k].name, font=font,
                      fill=(0, 0, 0) if entities[k].is_agent else (90, 90, 90))
        _draw_legend(draw, legend, font, size)
        draw.text((8, 6), f"{caption}  step {step}/{len(snapshots) - 1}".strip(),
                  fill=(60, 60, 60), font=font)
        frames.append(np.asarray(image, np.uint8))
    return frames


def label_boxes(entities: Sequence[_Entity], circles: Sequence[tuple], font, size: int,
                draw=None, reserved: Sequence[tuple] = ()) -> list[tuple[int, tuple]]:
    """Where each entity's name goes: ``(index, (left, top, right, bottom))``, agents first.

    A label sits right beside its own circle (to the right, left, above or below,
    centred on it), in the first place that overlaps no label placed before, no
    other circle, no ``reserved`` box and no frame edge; where every such place is taken it moves
    down the right side, and ``draw_frames`` joins it to its circle with a line.
    So names never run together (``adversary_0agent_1``) nor sit by another circle.
    """
    draw = draw or ImageDraw.Draw(Image.new("RGB", (1, 1)))
    placed, boxes = list(reserved), []
    for k in sorted(range(len(entities)), key=lambda k: not entities[k].is_agent):
        x, y, radius = circles[k]
        left, top, right, bottom = draw.textbbox((0, 0), entities[k].name, font=font)
        width, height = right - left, bottom - top
        gap = 3
        spots = [(x + radius + gap, y - height / 2), (x - radius - gap - width, y - height / 2),
                 (x - width / 2, y - radius - gap - height), (x - width / 2, y + radius + gap)]
        spots += [(x + radius + gap, y - height / 2 + step * (height + 2))
                  for step in range(1, 40)]
        spots += [(x - radius - gap - width, y - height / 2 + step * (height + 2))
                  for step in range(1, 40)]
        others = [(cx - r, cy - r, cx + r, cy + r) for j, (cx, cy, r) in enumerate(circles)
                  if j != k]
        chosen = None
        for sx, sy in spots:
            box = (sx, sy, sx + width, sy + height)
            inside = box[0] >= 2 and box[1] >= 2 and box[2] <= size - 2 and box[3] <= size - 2
            if inside and not any(_overlap(box, other) for other in placed + others):
                chosen = box
                break
        if chosen is None:  # a crowded frame: the first place inside it
            sx = min(max(spots[0][0], 2), size - 2 - width)
            sy = min(max(spots[0][1], 2), size - 2 - height)
            chosen = (sx, sy, sx + width, sy + height)
        placed.append(chosen)
        boxes.append((k, chosen))
    return boxes


def legend_entries(entities: Sequence[_Entity]) -> list[tuple[str, tuple]]:
    """The legend of the colours: ``(kind, colour)`` once per kind of entity and colour
    (``adversary``, ``agent``, ``landmark``: the name without its number)."""
    entries = []
    for entity in entities:
        kind = re.sub(r"[\s_]*\d+$", "", entity.name) or ("agent" if entity.is_agent
                                                           else "landmark")
        if (kind, entity.color) not in entries:
            entries.append((kind, entity.color))
    return entries


def _legend_box(legend, font, size, draw) -> tuple:
    """The box the legend takes at the frame's bottom left."""
    height = _line_height(font)
    width = max(draw.textlength(kind, font=font) for kind, _ in legend) + height + 10
    return (4, size - 6 - height * len(legend), 4 + width, size - 4)


def _draw_legend(draw, legend, font, size) -> None:
    height = _line_height(font)
    for row, (kind, color) in enumerate(legend):
        top = size - 6 - height * (len(legend) - row)
        draw.ellipse((8, top + 2, 8 + height - 4, top + height - 2), fill=color,
                     outline=(0, 0, 0))
        draw.text((12 + height, top), kind, fill=(60, 60, 60), font=font)


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _touches(box: tuple, circle: tuple, gap: float = 4.0) -> bool:
    """Whether a label's box lies right by its circle (within ``gap`` pixels of it)."""
    x, y, radius = circle
    dx = max(box[0] - x, 0, x - box[2])
    dy = max(box[1] - y, 0, y - box[3])
    return (dx * dx + dy * dy) ** 0.5 <= radius + gap


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

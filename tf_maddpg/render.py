"""Watching a policy: one greedy episode rendered to frames and written as a GIF."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from PIL import Image

from tf_maddpg.envs.adapter import EnvAdapter
from tf_maddpg.envs.sources import EnvSource, build_adapter
from tf_maddpg.envs.vec_env import VecEnv
from tf_maddpg.training.evaluation import play_episodes


def render_episode(policy, env: EnvAdapter, max_steps: int,
                   seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """Plays one greedy episode and renders it.

    Args:
      policy: acts greedily for every agent (``act_packed``).
      env: an adapter around an environment made with ``render_mode="rgb_array"``.
      max_steps: the most steps to play (the episode may end sooner).
      seed: the reset seed.

    Returns:
      ``(frames, returns)``: one [H, W, 3] uint8 frame after the reset and one
      after each step (so steps + 1 frames), and each agent's return.

    Raises:
      ValueError: the environment does not return RGB frames.
    """
    frames = []
    returns = play_episodes(policy, VecEnv.of(env), [seed], max_steps,
                            observe=lambda: frames.append(_frame(env)))
    return frames, returns[0]


def save_gif(frames: Sequence[np.ndarray], path: str | os.PathLike, fps: float = 10.0) -> str:
    """Writes frames as an animated GIF that loops forever; returns ``path``.

    Pillow merges identical consecutive frames into one longer frame, so the
    file can hold fewer frames than were given.

    Raises:
      ValueError: ``frames`` is empty or ``fps`` is not positive.
    """
    if not frames:
        raise ValueError("save_gif needs at least one frame")
    if fps <= 0:
        raise ValueError(f"fps={fps} is invalid: expected a number > 0")
    images = [Image.fromarray(np.asarray(frame, np.uint8)) for frame in frames]
    directory = os.path.dirname(os.fspath(path))
    if directory:
        os.makedirs(directory, exist_ok=True)
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:],
                   duration=round(1000 / fps), loop=0)
    return os.fspath(path)


def record_gif(policy, env: EnvSource, path: str | os.PathLike,
               max_steps: int = 25, seed: int = 0, fps: float = 10.0,
               env_kwargs: dict | None = None) -> np.ndarray:
    """Plays one greedy episode, writes it to ``path`` as a GIF, returns each agent's return.

    Args:
      policy: the policy to watch; its agents must match the environment's.
      env: an mpe2 scenario name (built with ``max_cycles=max_steps`` and
        ``render_mode="rgb_array"``) or a zero-argument factory of a PettingZoo
        env or ``EnvAdapter`` made with ``render_mode="rgb_array"``.
      path: where to write the GIF.
      max_steps: the most steps to play.
      seed: the reset seed.
      fps: frames per second of the GIF.
      env_kwargs: scenario options for a named scenario (``continuous_actions``...).

    Returns:
      Each agent's return, in the environment's agent order.

    Raises:
      ValueError: the environment does not return RGB frames, or its agents
        differ from the policy's.
    """
    if isinstance(env, str):
        env_kwargs = dict(env_kwargs or {}, render_mode="rgb_array")
    adapter = build_adapter(env, max_steps, env_kwargs)
    try:
        names = tuple(spec.name for spec in policy.specs)
        if names != adapter.agents:
            raise ValueError(f"the policy acts for {names} but the environment's agents are "
                             f"{adapter.agents}")
        frames, returns = render_episode(policy, adapter, max_steps, seed)
    finally:
        adapter.close()
    save_gif(frames, path, fps)
    return returns


def _frame(env: EnvAdapter) -> np.ndarray:
    # EnvAdapter has no render(); the wrapped ParallelEnv renders.
    frame = env.render()
    if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[-1] == 3):
        raise ValueError("the environment returned no RGB frame from render(); build it "
                         "with render_mode='rgb_array'")
    return frame

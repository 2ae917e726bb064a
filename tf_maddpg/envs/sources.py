"""Where a run's environments come from: an mpe2 scenario name or a factory of
PettingZoo environments, turned into one adapter or several stepped together."""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Tuple, Union

from tf_maddpg.envs.adapter import EnvAdapter, as_adapter
from tf_maddpg.envs.mpe import make_env
from tf_maddpg.envs.vec_env import VecEnv

EnvSource = Union[str, Callable[[], object]]
"""An mpe2 scenario name (``"simple_adversary_v3"``), or a zero-argument function
that returns a PettingZoo ParallelEnv or AECEnv (or an ``EnvAdapter``)."""


@dataclasses.dataclass(frozen=True)
class ScenarioFactory:
    """A picklable recipe for an mpe2 scenario's ``EnvAdapter`` (what a worker process builds).

    Attributes:
      scenario: the mpe2 module name, e.g. ``"simple_adversary_v3"``.
      max_cycles: steps per episode.
      env_kwargs: the scenario's options.
    """

    scenario: str
    max_cycles: int = 25
    env_kwargs: Tuple[Tuple[str, object], ...] = ()

    def __call__(self) -> EnvAdapter:
        return make_env(self.scenario, max_cycles=self.max_cycles, **dict(self.env_kwargs))


@dataclasses.dataclass(frozen=True)
class AdapterFactory:
    """A zero-argument env factory that returns an ``EnvAdapter``.

    Picklable (for worker processes) when ``source`` is a module-level function.
    """

    source: Callable[[], object]

    def __call__(self) -> EnvAdapter:
        return as_adapter(self.source())


def env_factory(source: EnvSource, episode_length: int,
                env_kwargs: Optional[dict] = None) -> Callable[[], EnvAdapter]:
    """A picklable zero-argument function that builds one ``EnvAdapter`` of ``source``.

    Args:
      source: an mpe2 scenario name or a factory of PettingZoo environments.
      episode_length: a scenario's ``max_cycles`` (a factory sets its own).
      env_kwargs: a scenario's options (``render_mode="rgb_array"`` to render).
    """
    if isinstance(source, str):
        _check_no_max_cycles(env_kwargs)
        return ScenarioFactory(source, episode_length, tuple(sorted((env_kwargs or {}).items())))
    return AdapterFactory(source)


def _check_no_max_cycles(env_kwargs: Optional[dict]) -> None:
    """A scenario's ``max_cycles`` is the run's episode length, never one of its options."""
    if env_kwargs and "max_cycles" in env_kwargs:
        raise ValueError(f"max_cycles={env_kwargs['max_cycles']!r} is not a scenario option "
                         "here: a run's steps per episode are its episode_length "
                         "(--episode-length); remove max_cycles from the options")


def build_adapter(source: EnvSource, episode_length: int,
                  env_kwargs: Optional[dict] = None) -> EnvAdapter:
    """One ``EnvAdapter`` of ``source`` (see ``env_factory``)."""
    return env_factory(source, episode_length, env_kwargs)()


def build_vec_env(source: EnvSource, episode_length: int, env_kwargs: Optional[dict] = None,
                  num_envs: int = 1, workers: int = 0, backend: str = "auto"):
    """``num_envs`` environments of ``source`` stepped together.

    Args:
      backend: for an mpe2 scenario name, "batched" (``BatchedVecEnv``: one
        vectorised NumPy step for all), "mpe2" (``VecEnv``: mpe2 itself, in
        ``workers`` processes if > 0) or "auto" (batched unless ``workers``
        > 0). A factory always gets a ``VecEnv``.
    """
    if isinstance(source, str) and (backend == "batched" or (backend == "auto" and not workers)):
        from tf_maddpg.envs.batched_mpe.vec import BatchedVecEnv

        _check_no_max_cycles(env_kwargs)
        return BatchedVecEnv(source, num_envs, episode_length, env_kwargs)
    return VecEnv(env_factory(source, episode_length, env_kwargs), num_envs, workers)

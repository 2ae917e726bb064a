"""Several environments stepped together, in this process or in worker processes.

A ``VecEnv`` holds ``num_envs`` copies of one environment and speaks packed
arrays: row k is environment k, with every agent's observation (or action)
in its columns, in the adapter's order (``EnvAdapter.obs_slices``). The
training loop runs them in lockstep: every environment starts an episode
together, and one that finishes early waits, stepped no more, until the
others are done.

``workers=0`` steps the environments one after another in this process; it
saves the policy and the buffer a call per environment. ``workers=W`` hands
them to W worker processes that step at the same time, for environments
whose step costs more than passing its arrays through a pipe.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import signal
import traceback
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from tf_maddpg.envs import EnvAdapter, make_env


class VecStep(NamedTuple):
    """One step of every environment: row k is environment k.

    A row whose environment was not stepped (its episode had ended) is
    zeros, with ``alive`` False.
    """

    obs: np.ndarray
    """[num_envs, obs_width] float32 next observations."""
    rewards: np.ndarray
    """[num_envs, num_agents] float32."""
    terminated: np.ndarray
    """[num_envs, num_agents] bool (``StepResult.terminated``)."""
    truncated: np.ndarray
    """[num_envs, num_agents] bool."""
    alive: np.ndarray
    """[num_envs, num_agents] bool: who is still in the episode."""


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


class _EnvBlock:
    """Some environments stepped one after another: the work of this process or of one worker."""

    def __init__(self, envs: Sequence[EnvAdapter]):
        self.envs = list(envs)
        self.active = [False] * len(self.envs)
        first = self.envs[0]
        self.shape = (first.obs_width, first.num_agents)

    def reset(self, seeds: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
        obs_width, num_agents = self.shape
        obs = np.zeros((len(self.envs), obs_width), np.float32)
        alive = np.zeros((len(self.envs), num_agents), bool)
        for k, env in enumerate(self.envs):
            self.active[k] = k < len(seeds)
            if self.active[k]:
                obs[k] = env.reset_packed(seed=int(seeds[k]))
                alive[k] = env.alive
                self.active[k] = bool(alive[k].any())
        return obs, alive

    def step(self, actions: np.ndarray) -> VecStep:
        obs_width, num_agents = self.shape
        count = len(self.envs)
        out = VecStep(np.zeros((count, obs_width), np.float32),
                      np.zeros((count, num_agents), np.float32),
                      np.zeros((count, num_agents), bool), np.zeros((count, num_agents), bool),
                      np.zeros((count, num_agents), bool))
        for k, env in enumerate(self.envs):
            if self.active[k]:
                step = env.step_packed(actions[k])
                for field, value in zip(out, step):
                    field[k] = value
                self.active[k] = bool(step.alive.any())
        return out

    def close(self) -> None:
        for env in self.envs:
            env.close()


class VecEnv:
    """``num_envs`` copies of one environment, stepped together with packed arrays.

    Args:
      factory: a zero-argument callable returning an ``EnvAdapter`` (with
        ``workers > 0`` it must be picklable, e.g. a ``ScenarioFactory``).
      num_envs: the number of environments.
      workers: 0 steps them in this process; W > 0 spreads them over W
        worker processes (at most ``num_envs``).

    Attributes:
      specs, agents, obs_width, action_width, obs_slices, action_slices: as
        the wrapped ``EnvAdapter``'s.
    """

    def __init__(self, factory, num_envs: int = 1, workers: int = 0):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if not 0 <= workers <= num_envs:
            raise ValueError(f"workers must be between 0 and num_envs ({num_envs}), got {workers}")
        self.num_envs = num_envs
        self.workers = workers
        template = factory()
        for name in ("specs", "agents", "obs_width", "action_width", "obs_slices",
                     "action_slices", "num_agents"):
            setattr(self, name, getattr(template, name))
        self._block: Optional[_EnvBlock] = None
        self._pipes: List = []
        self._processes: List = []
        self._counts: List[int] = []
        if workers == 0:
            self._block = _EnvBlock([template] + [factory() for _ in range(num_envs - 1)])
            return
        template.close()
        self._counts = [len(part) for part in np.array_split(np.arange(num_envs), workers)]
        context = multiprocessing.get_context("spawn")  # TensorFlow's threads do not survive fork
        try:
            for count in self._counts:
                parent, child = context.Pipe()
                process = context.Process(target=_worker, args=(child, factory, count),
                                          daemon=True)
                process.start()
                child.close()
                self._pipes.append(parent)
                self._processes.append(process)
            for pipe in self._pipes:
                self._receive(pipe)  # "ready", or the worker's error
        except BaseException:
            self.close()
            raise

    def reset(self, seeds: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
        """Starts an episode in the first ``len(seeds)`` environments, each with its seed.

        The others sit this episode out (their rows stay zeros and not alive).

        Returns:
          obs [num_envs, obs_width] float32 and alive [num_envs, num_agents] bool.
        """
        if len(seeds) > self.num_envs:
            raise ValueError(f"{len(seeds)} seeds for {self.num_envs} environments")
        if self._block is not None:
            return self._block.reset(seeds)
        parts, start = [], 0
        for pipe, count in zip(self._pipes, self._counts):
            pipe.send(("reset", list(seeds[start: start + count])))
            start += count
        parts = [self._receive(pipe) for pipe in self._pipes]
        return tuple(np.concatenate(field) for field in zip(*parts))

    def step(self, actions: np.ndarray) -> VecStep:
        """Steps every environment still in its episode with its row of ``actions``.

        Args:
          actions: [num_envs, action_width] packed actions (one-hot or
            scores for Discrete agents, values for Box agents).
        """
        if self._block is not None:
            return self._block.step(actions)
        start = 0
        for pipe, count in zip(self._pipes, self._counts):
            pipe.send(("step", actions[start: start + count]))
            start += count
        parts = [self._receive(pipe) for pipe in self._pipes]
        return VecStep(*(np.concatenate(field) for field in zip(*parts)))

    def close(self) -> None:
        """Closes the environments and stops the workers."""
        if self._block is not None:
            self._block.close()
            self._block = None
        for pipe in self._pipes:
            try:
                pipe.send(("close", None))
            except (BrokenPipeError, OSError):
                pass
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
        self._pipes, self._processes = [], []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def _receive(pipe):
        try:
            kind, value = pipe.recv()
        except EOFError:
            raise RuntimeError("an environment worker process died; see its output above") from None
        if kind == "error":
            raise RuntimeError(f"an environment worker failed:\n{value}")
        return value


def _worker(pipe, factory, count: int) -> None:
    """A worker process: builds ``count`` environments and serves reset/step/close."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the training loop's to handle
    block = None
    try:
        block = _EnvBlock([factory() for _ in range(count)])
        pipe.send(("ok", "ready"))
        while True:
            command, argument = pipe.recv()
            if command == "close":
                break
            result = block.reset(argument) if command == "reset" else block.step(argument)
            pipe.send(("ok", tuple(result)))
    except EOFError:  # the parent went away
        pass
    except Exception:  # noqa: BLE001 - reported to the parent, which raises it
        pipe.send(("error", traceback.format_exc()))
    finally:
        if block is not None:
            block.close()

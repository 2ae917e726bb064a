"""Several environments stepped together, in this process or in worker processes.

A ``VecEnv`` holds ``num_envs`` copies of one environment and speaks packed
arrays: row k is environment k, with every agent's observation (or action)
in its columns, in the adapter's order (``EnvAdapter.obs_slices``). The
training loop runs them in lockstep: every environment starts an episode
together, and one that finishes early waits, stepped no more, until the
others are done.

``workers=0`` steps the environments one after another in this process; it
saves the policy and the buffer a call per environment. ``workers=W`` hands
them to W worker processes that step at the same time. Actions and results
pass through shared memory, and the pipe to a worker carries one byte each
way per step: pickling the arrays instead would cost more than an mpe2 step.

Worker processes start with ``multiprocessing``'s "spawn" method (TensorFlow's
threads do not survive a fork), which imports the main script again in each
worker: a script that trains with workers must guard its entry point with
``if __name__ == "__main__":``, and an environment factory must be picklable
(a module-level function, or ``tf_maddpg.envs.sources.ScenarioFactory``).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import signal
import traceback
from multiprocessing.reduction import ForkingPickler
from typing import List, Optional, Sequence, Tuple

import numpy as np

from tf_maddpg.envs.adapter import EnvAdapter, PackedStep


# The arrays of a step, (name, dtype, width attribute of _Shapes), in PackedStep's order
# after actions.
_FIELDS = (("actions", np.float32, "action_width"), ("obs", np.float32, "obs_width"),
           ("rewards", np.float32, "num_agents"), ("terminated", np.bool_, "num_agents"),
           ("truncated", np.bool_, "num_agents"), ("alive", np.bool_, "num_agents"))
_RESULTS = tuple(name for name, _, _ in _FIELDS[1:])  # what an env writes back: PackedStep's fields


@dataclasses.dataclass(frozen=True)
class _Shapes:
    num_envs: int
    obs_width: int
    action_width: int
    num_agents: int


def _views(buffers, shapes: _Shapes) -> dict:
    """NumPy views [num_envs, width] of the shared buffers, one per field."""
    return {name: np.frombuffer(buffer, dtype).reshape(shapes.num_envs, getattr(shapes, width))
            for (name, dtype, width), buffer in zip(_FIELDS, buffers)}


class _EnvBlock:
    """Environments first..first+count-1 of a VecEnv, stepped one after another.

    Reads actions from and writes results into the rows of ``arrays`` (the
    VecEnv's arrays: shared memory when this block runs in a worker).
    """

    def __init__(self, envs: Sequence[EnvAdapter], arrays: dict, first: int):
        self.envs = list(envs)
        self.rows = range(first, first + len(self.envs))
        self.arrays = arrays
        self.active = [False] * len(self.envs)

    def reset(self, seeds: Sequence[Optional[int]]) -> None:
        """Starts an episode in each env whose seed is not None; the others sit it out."""
        a = self.arrays
        for k, (row, env, seed) in enumerate(zip(self.rows, self.envs, seeds)):
            for name in _RESULTS:
                a[name][row] = 0
            self.active[k] = seed is not None
            if self.active[k]:
                a["obs"][row] = env.reset_packed(seed=int(seed))
                a["alive"][row] = env.alive
                self.active[k] = bool(a["alive"][row].any())

    def step(self) -> None:
        """Steps every active env with its row of actions."""
        a = self.arrays
        for k, (row, env) in enumerate(zip(self.rows, self.envs)):
            if not self.active[k]:
                for name in _RESULTS:
                    a[name][row] = 0
                continue
            step = env.step_packed(a["actions"][row])
            a["obs"][row] = step.obs
            a["rewards"][row] = step.rewards
            a["terminated"][row] = step.terminated
            a["truncated"][row] = step.truncated
            a["alive"][row] = step.alive
            self.active[k] = bool(step.alive.any())

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

    Raises:
      ValueError: ``num_envs`` or ``workers`` is out of range.
      RuntimeError: a worker process failed to start (the message says why).

    Attributes:
      specs, agents, obs_width, action_width, obs_slices, action_slices,
      num_agents: as the wrapped ``EnvAdapter``'s.
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
        shapes = _Shapes(num_envs, self.obs_width, self.action_width, self.num_agents)
        self._block: Optional[_EnvBlock] = None
        self._pipes: List = []
        self._processes: List = []
        if workers == 0:
            self._arrays = {name: np.zeros((num_envs, getattr(shapes, width)), dtype)
                            for name, dtype, width in _FIELDS}
            self._block = _EnvBlock([template] + [factory() for _ in range(num_envs - 1)],
                                    self._arrays, 0)
            return
        template.close()
        context = multiprocessing.get_context("spawn")  # TensorFlow's threads do not survive fork
        buffers = [context.RawArray("b", num_envs * getattr(shapes, width) * np.dtype(dtype).itemsize)
                   for _, dtype, width in _FIELDS]
        self._arrays = _views(buffers, shapes)
        self._ranges = [(int(part[0]), len(part))
                        for part in np.array_split(np.arange(num_envs), workers)]
        try:
            for first, count in self._ranges:
                parent, child = context.Pipe()
                process = context.Process(target=_worker, daemon=True,
                                          args=(child, factory, buffers, shapes, first, count))
                process.start()
                child.close()
                self._pipes.append(parent)
                self._processes.append(process)
            for pipe in self._pipes:
                self._receive(pipe)  # "ready", or the worker's error
        except BaseException:
            self.close()
            raise

    @classmethod
    def of(cls, env: EnvAdapter) -> "VecEnv":
        """One environment, ``env`` itself, stepped in this process (closing it closes ``env``)."""
        return cls(lambda: env, 1, 0)

    def reset(self, seeds: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
        """Starts an episode in the first ``len(seeds)`` environments, each with its seed.

        The others sit this episode out (their rows stay zeros and not alive).

        Returns:
          obs [num_envs, obs_width] float32 and alive [num_envs, num_agents] bool.
        """
        if len(seeds) > self.num_envs:
            raise ValueError(f"{len(seeds)} seeds for {self.num_envs} environments")
        padded = [int(s) for s in seeds] + [None] * (self.num_envs - len(seeds))
        if self._block is not None:
            self._block.reset(padded)
        else:
            for pipe, (first, count) in zip(self._pipes, self._ranges):
                pipe.send(padded[first: first + count])
            for pipe in self._pipes:
                self._receive(pipe)
        return self._arrays["obs"].copy(), self._arrays["alive"].copy()

    def step(self, actions: np.ndarray) -> PackedStep:
        """Steps every environment still in its episode with its row of ``actions``.

        Args:
          actions: [num_envs, action_width] packed actions (one-hot or
            scores for Discrete agents, values for Box agents).
        """
        self._arrays["actions"][:] = actions
        if self._block is not None:
            self._block.step()
        else:
            for pipe in self._pipes:
                pipe.send_bytes(b"s")
            for pipe in self._pipes:
                self._receive(pipe)
        a = self._arrays
        return PackedStep(a["obs"].copy(), a["rewards"].copy(), a["terminated"].copy(),
                       a["truncated"].copy(), a["alive"].copy())

    def close(self) -> None:
        """Closes the environments and stops the workers."""
        if self._block is not None:
            self._block.close()
            self._block = None
        for pipe in self._pipes:
            try:
                pipe.send_bytes(b"c")
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
    def _receive(pipe) -> None:
        try:
            message = pipe.recv_bytes()
        except EOFError:
            raise RuntimeError(
                "an environment worker process died; see its output above. If it failed while "
                "importing your script, put the code that starts training under "
                "'if __name__ == \"__main__\":' (each worker imports the main script), or set "
                "env_workers=0") from None
        if message != b"k":
            raise RuntimeError(f"an environment worker failed:\n{message[1:].decode()}")


def _worker(pipe, factory, buffers, shapes: _Shapes, first: int, count: int) -> None:
    """A worker process: builds environments first..first+count-1 and serves reset/step/close.

    Commands: a list of seeds (reset), b"s" (step), b"c" (close). Replies:
    b"k" when the shared arrays hold the result, or b"e" and a traceback.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the training loop's to handle
    block = None
    try:
        block = _EnvBlock([factory() for _ in range(count)], _views(buffers, shapes), first)
        pipe.send_bytes(b"k")
        while True:
            message = pipe.recv_bytes()
            if message == b"s":
                block.step()
            elif message == b"c":
                break
            else:
                block.reset(ForkingPickler.loads(message))
            pipe.send_bytes(b"k")
    except EOFError:  # the parent went away
        pass
    except Exception:  # noqa: BLE001 - reported to the parent, which raises it
        try:
            pipe.send_bytes(b"e" + traceback.format_exc().encode())
        except OSError:
            pass
    finally:
        if block is not None:
            block.close()

"""The learner's updates in the loop's schedule: in place, or in a background thread.

After an update the acting policy gets the new weights (``policy.sync``). With
``background=True`` (``async_update``) an update runs while the environments
keep stepping: the one before it is waited for and handed to the policy
first, so the policy acts one update behind.
"""

from __future__ import annotations

import concurrent.futures
import math
import time
from typing import Dict


class Updater:
    """Calls ``learner.update_packed`` and keeps the books of every update.

    Args:
      learner: has ``update_packed(data) -> {"loss/<kind>/<agent>": float}``.
      policy: the acting policy; ``sync()`` hands it the learner's weights.
      progress: the run's counters (``tf_maddpg.runs.checkpoint.Progress``):
        updates, update time and the loss sums since the last evaluation.
      background: run each update in a background thread.
    """

    def __init__(self, learner, policy, progress, background: bool = False):
        self.learner = learner
        self.policy = policy
        self.progress = progress
        self.background = background
        self._pool = None
        self._pending = None  # (future, env_steps, launch time) of the update in flight
        self.first_s = 0.0
        """Seconds of this session's first update (TensorFlow traces its graph then)."""
        self._updated = False

    def update(self, data) -> None:
        """One update on ``data`` (a sample of packed rows)."""
        started = time.perf_counter()
        if not self.background:
            losses = self.learner.update_packed(data)
            self.policy.sync()
            elapsed = time.perf_counter() - started
            self.progress.update_s += elapsed
            self._record(losses, elapsed, self.progress.env_steps)
            return
        self.wait()
        self.policy.sync()  # the behaviour policy takes the newest weights only here
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(1, "tf_maddpg-update")
        self._pending = (self._pool.submit(self.learner.update_packed, data),
                         self.progress.env_steps, started)
        self.progress.update_s += time.perf_counter() - started

    def wait(self) -> None:
        """Waits for the update in flight, if any, and books its losses.

        The behaviour policy keeps its weights until the next update point:
        evaluations and checkpoints, which wait here too, must not change
        what it does, so that a run stopped and resumed is the unbroken run.
        """
        if self._pending is None:
            return
        future, env_steps, launched = self._pending
        self._pending = None
        waited = time.perf_counter()
        losses = future.result()
        self.progress.update_s += time.perf_counter() - waited
        self._record(losses, time.perf_counter() - launched, env_steps)

    def close(self) -> None:
        """Lets an update in flight end and stops the background thread."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _record(self, losses: Dict[str, float], elapsed: float, env_steps: int) -> None:
        progress = self.progress
        if progress.num_updates == 0:
            progress.first_update_s = elapsed
        if not self._updated:
            self.first_s, self._updated = elapsed, True
        check_finite(losses, env_steps)
        progress.num_updates += 1
        for key, value in losses.items():  # MATD3's critics-only updates log no actor loss
            progress.loss_sums[key] = progress.loss_sums.get(key, 0.0) + value
            progress.loss_counts[key] = progress.loss_counts.get(key, 0) + 1


def check_finite(losses: Dict[str, float], env_steps: int) -> None:
    """Raises FloatingPointError naming the agent and loss of a NaN or infinite loss."""
    for key, value in losses.items():
        if not math.isfinite(value):
            _, kind, agent = key.split("/", 2)
            raise FloatingPointError(
                f"the {kind} loss of agent {agent!r} became {value} at env step {env_steps}. "
                "Lower the learning rates, set max_grad_norm, or check the rewards for "
                "NaN or huge values.")

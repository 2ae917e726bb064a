"""Checkpoints that resume a run exactly: networks, optimizers, noise, counters and replay.

One checkpoint is a TensorFlow checkpoint (``tf.train.CheckpointManager``:
every object of ``learner.checkpoint_objects()`` (networks, optimizers, the
update's random generator), the weights the policy acts with, the counters
and the states of the run's NumPy generators) plus the storage (the replay
buffer) in ``buffer-<episode>.npz`` beside it. The buffer is written first,
under a temporary name renamed into place; the manager then writes the
TensorFlow files and, last, its index. A run killed at any moment leaves
the previous checkpoint whole.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import re
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from tf_maddpg.runs.atomic import remove, replacing, write_failure


class CheckpointError(RuntimeError):
    """No checkpoint of a run folder could be restored."""


@dataclasses.dataclass
class Progress:
    """Where a run is: the counters a checkpoint keeps besides the networks.

    Attributes:
      episode: training episodes completed.
      env_steps: training env steps taken.
      num_updates: updates done.
      wall_s: seconds of training so far, over every resumed session.
      eval_s: the part of ``wall_s`` spent in evaluation.
      update_s: the part of ``wall_s`` spent in updates.
      first_update_s: the run's first update (with TensorFlow, mostly tracing).
      loss_sums: per loss key, the sum of its values since the last evaluation.
      loss_counts: per loss key, how many values ``loss_sums`` holds.
    """

    episode: int = 0
    env_steps: int = 0
    num_updates: int = 0
    wall_s: float = 0.0
    eval_s: float = 0.0
    update_s: float = 0.0
    first_update_s: float = 0.0
    loss_sums: dict = dataclasses.field(default_factory=dict)
    loss_counts: dict = dataclasses.field(default_factory=dict)


class TrainingCheckpoint:
    """Saves and restores everything a run needs to go on as if never stopped.

    Besides the networks and the storage, a checkpoint keeps the run's
    counters, its metrics rows up to that episode and its configuration, so
    that the side files (metrics.csv, returns.png) can be rebuilt from it and
    a resume can refuse a ``config.json`` that was edited since.

    Args:
      directory: the checkpoint folder (``RUN_DIR/checkpoints``).
      learner: has ``checkpoint_objects()``, the trackable objects to keep.
      policy: the acting policy (``snapshot``/``restore`` of the weights it
        acts with, which may lag the learner's).
      buffer: the storage with ``save(path)`` and ``load(path)``, or None.
      generators: the run's NumPy generators by name (replay sampling,
        exploration); restored in place.
      max_to_keep: checkpoints kept (the older ones are the fallback when
        the newest cannot be read).
    """

    def __init__(self, directory: str, learner, policy, buffer,
                 generators: Dict[str, np.random.Generator], max_to_keep: int = 2):
        self.directory = directory
        self.buffer = buffer
        self.generators = dict(generators)
        self.policy = policy
        self._state = tf.Variable("", dtype=tf.string, trainable=False)
        # The weights the policy acts with: with async_update one update older than the actors.
        self._behaviour = tf.Variable(policy.snapshot(), trainable=False)
        self._checkpoint = tf.train.Checkpoint(
            **learner.checkpoint_objects(), behaviour_policy=self._behaviour, state=self._state)
        self._max_to_keep = max_to_keep
        self.manager = self._manager()

    def _manager(self) -> tf.train.CheckpointManager:
        """The manager over ``directory``; a damaged index is rebuilt from the files."""
        def manager():
            return tf.train.CheckpointManager(self._checkpoint, self.directory,
                                              max_to_keep=self._max_to_keep,
                                              checkpoint_name="ckpt")
        index = os.path.join(self.directory, "checkpoint")
        try:
            found = manager()
            if found.checkpoints or not os.path.exists(index) or not self._on_disk():
                return found
            reason = "it lists none of the checkpoints on disk"
        except Exception as error:  # noqa: BLE001 - whatever the index parser trips on
            reason = str(error).strip().splitlines()[0]
        warnings.warn(f"the checkpoint index {index} could not be read ({reason}); "
                      "rebuilt it from the checkpoint files", RuntimeWarning, stacklevel=3)
        os.remove(index)
        prefixes = self._on_disk()
        tf.compat.v1.train.update_checkpoint_state(
            self.directory, prefixes[-1], all_model_checkpoint_paths=prefixes)
        return manager()

    def _on_disk(self) -> List[str]:
        found = glob.glob(os.path.join(self.directory, "ckpt-*.index"))
        return sorted((p[: -len(".index")] for p in found), key=_number)

    @property
    def checkpoints(self) -> List[str]:
        """Checkpoint prefixes on disk, oldest first."""
        return sorted(set(self.manager.checkpoints) | set(self._on_disk()), key=_number)

    def save(self, progress: Progress, history: Sequence[dict] = (),
             config: Optional[dict] = None, run: Optional[dict] = None) -> str:
        """Writes a checkpoint numbered by ``progress.episode``; returns its prefix.

        Args:
          progress: the counters.
          history: the metrics rows up to this episode.
          config: the run's configuration (``config.to_dict()``).
          run: what run.json holds (``tf_maddpg.runs.folder.run_record``).

        Raises:
          CheckpointError: the checkpoint could not be written (a full disk,
            say); what was written of it is removed and the previous
            checkpoint stays the newest.
        """
        number = progress.episode
        try:
            os.makedirs(self.directory, exist_ok=True)
            if self.buffer is not None:
                with replacing(self._buffer_path(number)) as temporary:
                    self.buffer.save(temporary)
            state = dataclasses.asdict(progress)
            state["generators"] = {name: g.bit_generator.state
                                   for name, g in self.generators.items()}
            state["history"] = list(history)
            state["config"] = config
            state["run"] = run
            self._state.assign(json.dumps(state, default=_json_number))
            self._behaviour.assign(self.policy.snapshot())
            prefix = self.manager.save(checkpoint_number=number)
        except (OSError, tf.errors.OpError) as error:
            self._remove_unfinished(number)
            reason = write_failure(error)
            raise CheckpointError(f"could not write the checkpoint of episode {number} in "
                                  f"{self.directory}: {reason}") from None
        self._remove_stale()
        return prefix

    def restore(self) -> Tuple[Progress, List[dict], Optional[dict]]:
        """Restores the newest readable checkpoint, falling back to older ones.

        A checkpoint that cannot be read (a truncated file, a missing
        buffer) is skipped with a warning that names it.

        Returns:
          The counters, the metrics rows and the configuration it was saved with.

        Raises:
          CheckpointError: there is no checkpoint, or none could be restored.
        """
        prefixes = self.checkpoints
        if not prefixes:
            raise CheckpointError(f"no checkpoint in {self.directory}: nothing to resume")
        problems = []
        for prefix in reversed(prefixes):
            try:
                return self._restore(prefix)
            # A torn file surfaces as whatever its reader trips on (OpError,
            # IndexError, BadZipFile, ValueError...): any failure means unreadable.
            except Exception as error:  # noqa: BLE001
                reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
                problems.append(f"{os.path.basename(prefix)}: {reason}")
                if prefix != prefixes[0]:
                    warnings.warn(f"checkpoint {prefix} could not be restored ({reason}); "
                                  "falling back to the previous one", RuntimeWarning, stacklevel=2)
        raise CheckpointError(f"none of the checkpoints in {self.directory} could be restored:\n  "
                              + "\n  ".join(problems))

    def _restore(self, prefix: str):
        buffer_path = self._buffer_path(_number(prefix))
        if self.buffer is not None and not os.path.exists(buffer_path):
            raise OSError(f"its replay buffer {os.path.basename(buffer_path)} is missing")
        self._checkpoint.restore(prefix).assert_existing_objects_matched()
        state = json.loads(self._state.numpy().decode())
        if "generators" not in state:
            raise CheckpointError("written by an older tf_maddpg; start a new run")
        if self.buffer is not None:
            self.buffer.load(buffer_path)
        for name, generator_state in state.pop("generators").items():
            self.generators[name].bit_generator.state = generator_state
        if getattr(self.policy, "restores_snapshot", self.policy.backend == "numpy"):
            self.policy.restore(self._behaviour.numpy())
        history, config = state.pop("history", []), state.pop("config", None)
        state.pop("run", None)
        return Progress(**state), history, config

    def _buffer_path(self, number: int) -> str:
        return os.path.join(self.directory, f"buffer-{number}.npz")

    def _remove_unfinished(self, number: int) -> None:
        """Removes what a failed save of checkpoint ``number`` left behind."""
        if any(_number(p) == number for p in self.manager.checkpoints):
            return  # an older checkpoint of the same number: keep it
        for path in glob.glob(os.path.join(self.directory, f"ckpt-{number}[._]*")):
            remove(path)
        remove(self._buffer_path(number))

    def _remove_stale(self) -> None:
        """Removes checkpoints and buffers that the manager no longer keeps."""
        kept = {_number(p) for p in self.manager.checkpoints}
        for path in glob.glob(os.path.join(self.directory, "*-*")):
            match = re.fullmatch(r"(?:buffer|ckpt)-(\d+)(?:\.npz|\.index|\.data-.*)",
                                 os.path.basename(path))
            if match and int(match.group(1)) not in kept:
                remove(path)


def saved_state(directory: str) -> Optional[dict]:
    """What the newest readable checkpoint in ``directory`` keeps besides the networks (the
    counters, the metrics rows, ``config``: the configuration, ``run``: run.json's
    content), read without building a learner; None if no checkpoint can be read."""
    found = glob.glob(os.path.join(glob.escape(directory), "ckpt-*.index"))
    for prefix in sorted((p[: -len(".index")] for p in found), key=_number, reverse=True):
        try:
            reader = tf.train.load_checkpoint(prefix)
            return json.loads(reader.get_tensor("state/.ATTRIBUTES/VARIABLE_VALUE"))
        except Exception:  # noqa: BLE001 - a torn checkpoint: the one before it
            continue
    return None


def _number(prefix: str) -> int:
    return int(prefix.rsplit("-", 1)[1])


def _json_number(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint")

"""One training session of a run, and everything a training loop shares.

A loop (``off_policy.py``, ``on_policy.py``) only plays episodes and learns. The session around it builds the algorithm's pieces
from the registry, hands the loop its episodes a lockstep round at a time,
and between rounds does the rest: the counters, the progress bar, evaluation,
checkpoints, Ctrl-C, the run folder's files and the final SavedModels.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from typing import Callable, Dict, Iterator, List, Optional

import keras

from tf_maddpg.algorithms.base import Algorithm
from tf_maddpg.config import RunConfig, changed_fields
from tf_maddpg.envs.vec_env import VecEnv
from tf_maddpg.runs import folder
from tf_maddpg.runs.actors import save_actors
from tf_maddpg.runs.atomic import replacing, replacing_files_in
from tf_maddpg.runs.checkpoint import CheckpointError, Progress, TrainingCheckpoint
from tf_maddpg.seeding import RunSeeds
from tf_maddpg.training.evaluation import evaluate
from tf_maddpg.training.interrupt import StopOnCtrlC
from tf_maddpg.training.run_log import RunLog
from tf_maddpg.training.updater import Updater


@dataclasses.dataclass
class TrainingResult:
    """What ``train`` returns.

    Attributes:
      learner: the trained networks (``learner.actors`` are the policies).
      policy: acts with ``learner.actors``.
      history: one dict per evaluation (the rows of metrics.csv), resumed
        runs included.
      env_steps: training env steps taken, over every resumed session.
      wall_s: seconds of training, over every resumed session, evaluation included.
      episodes: training episodes completed.
      num_updates: updates done.
      eval_s, update_s: the parts of ``wall_s`` spent evaluating and updating.
      first_update_s: the first update's part of ``update_s`` (mostly tracing).
      interrupted: the run stopped early on Ctrl-C or SIGTERM (after saving a checkpoint).
      stopped_by: what stopped it early, ``"Ctrl-C"`` or ``"SIGTERM"`` (``""`` if nothing).
    """

    learner: object
    policy: object
    history: List[Dict[str, float]]
    env_steps: int
    wall_s: float
    episodes: int = 0
    num_updates: int = 0
    eval_s: float = 0.0
    update_s: float = 0.0
    first_update_s: float = 0.0
    interrupted: bool = False
    stopped_by: str = ""

    @property
    def env_steps_per_s(self) -> float:
        """Training env steps per second, evaluation time left out."""
        return self.env_steps / max(self.wall_s - self.eval_s, 1e-9)


class TrainingSession:
    """A run's pieces and services for one session, fresh or resumed.

    Args:
      algorithm: the registry entry of ``config``'s algorithm.
      config: the run's configuration.
      env: the training environments (also used for evaluation).
      storage: where the loop keeps experience (a ``ReplayBuffer``, a
        ``Rollout``), or None; checkpoints keep it when it has ``save`` and
        ``load`` (a replay buffer; a rollout is empty between rounds).
      out_dir: the run folder, or None for a run that writes nothing.
      verbose: show the progress bar and print the evaluation table.
      on_evaluation: called with a copy of each metrics row once it is written
        (``train``'s argument of that name), or None.

    Attributes:
      learner, policy: the algorithm's learner and its acting policy
        (exploring, with the weights of the last ``updater.update``).
      updater: runs the learner's updates and hands their weights to ``policy``.
      seeds: the run's random streams; ``replay_rng`` samples the storage.
      progress: the counters that checkpoints keep.
    """

    def __init__(self, algorithm: Algorithm, config: RunConfig, env: VecEnv, storage,
                 out_dir: Optional[str], verbose: bool, title: Optional[str] = None,
                 on_evaluation: Optional[Callable[[Dict[str, float]], None]] = None):
        self.config = config
        self.on_evaluation = on_evaluation
        self.env = env
        self.out_dir = out_dir
        self.names = env.agents
        self.seeds = RunSeeds(config.seed)
        keras.utils.set_random_seed(self.seeds.integer("networks"))  # initial weights
        self.learner = algorithm.make_learner(env.specs, config)
        self.policy = algorithm.make_policy(env.specs, self.learner.actors, config,
                                            rng=self.seeds.generator("exploration"))
        background = bool(getattr(config, "async_update", False))
        if background and self.policy.backend != "numpy":
            raise ValueError("async_update needs actors that the NumPy policy runs (Dense "
                             "layers); these act through the graph, which would read weights "
                             "while the update writes them")
        # Evaluation acts greedily with the actors' newest weights, whatever the behaviour
        # policy holds.
        self.eval_policy = algorithm.make_policy(env.specs, self.learner.actors, config)
        self.eval_seeds = self.seeds.evaluation_seeds(config.eval_episodes)
        self.storage = storage
        self.replay_rng = self.seeds.generator("replay")
        self.progress = Progress()
        self.updater = Updater(self.learner, self.policy, self.progress, background)
        self.history: List[Dict[str, float]] = []
        self.checkpoint = None
        self.saved_episode = None
        self.scenario_name, self.env_kwargs = None, {}  # run.json's, once begun
        if out_dir:
            self.checkpoint = TrainingCheckpoint(
                os.path.join(out_dir, folder.CHECKPOINT_DIR), self.learner, self.policy,
                storage if hasattr(storage, "save") else None,  # a rollout is empty between rounds
                {"replay": self.replay_rng, "exploration": self.policy.rng})
        self.log = RunLog(out_dir, self.names, verbose, title)
        self.stop = StopOnCtrlC(self.log.say)
        self._session_start = self._wall_before = self._steps_before = self._eval_before = 0.0

    # --- Starting ---------------------------------------------------------------------

    def begin(self, restore: bool, scenario_name: Optional[str],
              env_kwargs: Optional[dict]) -> None:
        """``restore()`` a resumed run or ``start()`` a new one.

        Raises:
          RunWriteError: the run folder could not be written (the message
            names the last good checkpoint).
        """
        try:
            if restore:
                self.restore()
            else:
                self.start(scenario_name, env_kwargs)
        except OSError as error:
            raise RunWriteError(f"{_describe(error)}. {self._kept_checkpoint()}") from None

    def start(self, scenario_name: Optional[str], env_kwargs: Optional[dict]) -> None:
        """A fresh run: clears what an earlier run left in the folder (``--overwrite``,
        only now that this run has started), writes config.json and run.json."""
        self.scenario_name, self.env_kwargs = scenario_name, env_kwargs
        if self.out_dir:
            folder.clear_run(self.out_dir)
            folder.remove_debris(self.out_dir)
            folder.write_run_files(self.out_dir, scenario_name, env_kwargs, self.env.specs,
                                   self.config)
        self.log.open(history=[])

    def restore(self) -> None:
        """A resumed run: restores the newest readable checkpoint, then rebuilds the side
        files (metrics.csv, returns.png, config.json, run.json) from it (a deleted
        config.json or run.json too).

        Raises:
          RunFolderError: config.json was edited since the checkpoint was written.
        """
        folder.remove_debris(self.out_dir)
        self.progress, self.history, saved = self.checkpoint.restore()
        self.updater.progress = self.progress
        self.saved_episode = self.progress.episode
        if self.config.num_episodes < self.progress.episode:
            raise folder.RunFolderError(
                f"{self.out_dir} is at episode {self.progress.episode} already; num_episodes "
                f"({self.config.num_episodes}) is the new total and must not be smaller")
        cls = type(self.config)
        changed = _changed_fields(saved, self.config.to_dict(),
                                  {**cls().to_dict(), **cls.saved_defaults})
        if changed:
            raise folder.RunFolderError(
                f"{os.path.join(self.out_dir, folder.CONFIG_FILE)} differs from the "
                f"configuration the run was trained with: {', '.join(changed)}; put those "
                "values back to resume it, or start a new run to change them")
        info = folder.read_run(self.out_dir)  # a deleted one: from the checkpoint
        self.scenario_name, self.env_kwargs = info.scenario, info.env_kwargs
        folder.write_run_files(self.out_dir, info.scenario, info.env_kwargs, self.env.specs,
                               self.config)
        self.log.open(history=self.history)
        self.log.say(f"resumed {self.out_dir} at episode {self.progress.episode} "
                     f"({self.progress.env_steps} env steps)")

    # --- What a loop uses ---------------------------------------------------------------

    def rounds(self) -> Iterator[range]:
        """The training episodes still to play, a lockstep round at a time.

        A round is up to ``num_envs`` episodes, never past an evaluation, a
        checkpoint or the end, so that these fall on the same episodes
        whatever ``num_envs`` is. Between rounds: the counters and the bar,
        then an evaluation and a checkpoint when due. Stops early after a
        Ctrl-C.
        """
        config, progress = self.config, self.progress
        while progress.episode < config.num_episodes and not self.stop.requested:
            episode = progress.episode
            count = min(config.num_envs, config.num_episodes - episode,
                        config.eval_interval - episode % config.eval_interval,
                        config.checkpoint_interval - episode % config.checkpoint_interval)
            yield range(episode + 1, episode + 1 + count)
            self._end_round(count)

    def episode_seeds(self, episodes: range) -> List[int]:
        """The reset seeds of these training episodes (the same when a run resumes)."""
        return [self.seeds.episode_seed(e) for e in episodes]

    # --- Around the loop ----------------------------------------------------------------

    @contextlib.contextmanager
    def running(self):
        """Runs the loop inside: Ctrl-C handling and the bar; then the last checkpoint,
        the plot and the SavedModels.

        Raises:
          FloatingPointError: a loss became NaN or infinite (the message says
            which checkpoint is kept).
          KeyboardInterrupt: a second Ctrl-C, or ``Terminated`` for a second SIGTERM
            (the message says which checkpoint is kept).
        """
        progress = self.progress
        self._session_start = time.perf_counter()
        self._wall_before, self._steps_before = progress.wall_s, progress.env_steps
        self._eval_before = progress.eval_s
        self.log.start_bar(self.config.num_episodes, progress.episode)
        try:
            with self.stop:
                yield self
            self.updater.wait()
        except FloatingPointError as error:
            raise FloatingPointError(f"{error} {self._kept_checkpoint()}") from None
        except (OSError, CheckpointError) as error:  # a full disk, a folder gone read-only
            reason = error if isinstance(error, CheckpointError) else _describe(error)
            raise RunWriteError(f"{reason}. {self._kept_checkpoint()}") from None
        except KeyboardInterrupt as error:
            raise type(error)(self._kept_checkpoint()) from None  # said by whoever catches it
        finally:
            self.log.close_bar()
            self.updater.close()  # an update in flight ends before anything else
        try:
            if self.checkpoint and self.saved_episode != progress.episode:
                self.save_checkpoint()
            self._finish(self.stop.requested)
        except (OSError, CheckpointError) as error:
            reason = error if isinstance(error, CheckpointError) else _describe(error)
            raise RunWriteError(f"{reason}. {self._kept_checkpoint()}") from None
        self.policy.sync()  # the trained weights, for whoever uses the returned policy

    def result(self) -> TrainingResult:
        """What the session ended with."""
        p = self.progress
        return TrainingResult(self.learner, self.policy, self.history, p.env_steps, p.wall_s,
                              p.episode, p.num_updates, p.eval_s, p.update_s, p.first_update_s,
                              self.stop.requested, self.stop.signal_name)

    def evaluate(self, rate: float) -> Dict[str, float]:
        """Greedy returns on the run's evaluation set; logs and returns the metrics row."""
        progress = self.progress
        self.updater.wait()
        self.eval_policy.sync()
        returns = evaluate(self.eval_policy, self.env, self.eval_seeds, self.config.episode_length)
        row = {"episode": progress.episode, "env_steps": progress.env_steps,
               "wall_s": round(progress.wall_s, 2)}
        row.update({f"return/{a}": float(r) for a, r in zip(self.names, returns)})
        for kind in ("critic", "actor"):
            for name in self.names:
                key = f"loss/{kind}/{name}"
                count = progress.loss_counts.get(key, 0)
                row[key] = progress.loss_sums[key] / count if count else math.nan
        progress.loss_sums, progress.loss_counts = {}, {}
        self.history.append(row)
        self.log.evaluation(row, self.history, rate)
        if self.on_evaluation is not None:
            self.on_evaluation(dict(row))
        return row

    def save_checkpoint(self) -> None:
        """A checkpoint of everything, and the actors' .keras files beside it."""
        self.updater.wait()
        self.checkpoint.save(self.progress, self.history, self.config.to_dict(),
                             folder.run_record(self.scenario_name, self.env_kwargs,
                                               self.env.specs))
        with replacing_files_in(os.path.join(self.out_dir, folder.ACTORS_DIR)) as temporary:
            save_actors(self.learner.actors, self.env.specs, temporary)
        self.saved_episode = self.progress.episode

    def _end_round(self, count: int) -> None:
        config, progress = self.config, self.progress
        progress.episode += count
        progress.wall_s = self._wall()
        rate = self._rate()
        self.log.episodes_done(count, rate)
        if progress.episode % config.eval_interval == 0:
            started = time.perf_counter()
            self.evaluate(rate)
            progress.eval_s += time.perf_counter() - started
            progress.wall_s = self._wall()
        if self.checkpoint and progress.episode % config.checkpoint_interval == 0:
            self.save_checkpoint()

    def _wall(self) -> float:
        return self._wall_before + time.perf_counter() - self._session_start

    def _rate(self) -> float:
        """Training env steps per second in this session, evaluation and the session's
        first update (TensorFlow traces the update's graph in it: seconds, which would
        weigh on the first rows of a resumed run) left out."""
        p = self.progress
        seconds = (p.wall_s - self._wall_before - (p.eval_s - self._eval_before)
                   - self.updater.first_s)
        return (p.env_steps - self._steps_before) / max(seconds, 1e-9)

    def _kept_checkpoint(self) -> str:
        """Which checkpoint a --resume would start from (said when a run stops early)."""
        if not self.checkpoint:
            return "(no output folder, so no checkpoint)."
        if self.saved_episode is None:
            return "No checkpoint was written yet."
        return (f"The last good checkpoint (episode {self.saved_episode}) is kept in "
                f"{self.checkpoint.directory}.")

    def _finish(self, interrupted: bool) -> None:
        if not self.out_dir:
            return
        if self.history:
            self.log.plot(self.history)
        if interrupted:
            self.log.say(f"stopped at episode {self.progress.episode}, checkpoint saved; "
                         f"continue with: tf-maddpg train --resume {self.out_dir}")
            return
        from tf_maddpg.export import export_actors

        info = folder.read_run(self.out_dir)
        with replacing(os.path.join(self.out_dir, folder.SAVED_MODEL_DIR)) as temporary:
            export_actors(self.learner.actors, self.env.specs, temporary, scenario=info.scenario,
                          env_kwargs=info.env_kwargs)
        self.log.say(f"done: metrics, plot, checkpoints, actors and SavedModels are in "
                     f"{self.out_dir}")


class RunWriteError(CheckpointError):
    """A run's files could not be written (a full disk, a folder made read-only); the
    message names the last good checkpoint."""


def _describe(error: OSError) -> str:
    where = f" ({error.filename})" if getattr(error, "filename", None) else ""
    return f"could not write the run folder: {error.strerror or error}{where}"


def _changed_fields(saved: Optional[dict], current: dict, defaults: dict) -> List[str]:
    """``name (checkpoint value -> config.json value)`` for each field that differs,
    the fields a resume may change left out (a field the checkpoint predates: its
    default, see ``changed_fields``)."""
    if saved is None:
        return []
    return [f"{k} ({saved.get(k, defaults.get(k))!r} in the checkpoint, {current.get(k)!r} now)"
            for k in changed_fields(saved, current, defaults)]

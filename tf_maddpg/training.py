"""The training loop and evaluation: the one place that knows every piece.

Data flows one way: environments (``VecEnv``) -> policy (act) -> buffer ->
learner -> the policy's actors, as packed arrays. ``config.num_envs``
environments run their episodes in lockstep; the update schedule counts env
steps, so a run with several environments updates as often per env step as
a run with one. With an output folder the loop also writes the run folder
(``tf_maddpg.runs``), checkpoints that resume exactly, and stops cleanly on
Ctrl-C.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import math
import os
import shutil
import signal
import sys
import threading
import time
from typing import Callable, Dict, List, Optional, Union

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from tf_maddpg import runs
from tf_maddpg.buffer import ReplayBuffer
from tf_maddpg.checkpoint import Progress, TrainingCheckpoint
from tf_maddpg.config import MADDPGConfig
from tf_maddpg.envs import EnvAdapter, make_env
from tf_maddpg.learner import MADDPGLearner
from tf_maddpg.matd3 import make_learner
from tf_maddpg.metrics import MetricsCSV, metric_columns, read_metrics
from tf_maddpg.plotting import plot_returns
from tf_maddpg.policy import MultiAgentPolicy, save_actors
from tf_maddpg.vec_env import ScenarioFactory, VecEnv

EVAL_SEED_OFFSET = 1_000_000
"""Evaluation episode k uses seed ``config.seed + EVAL_SEED_OFFSET + k``: the
same start states at every evaluation, so the curve shows the policy change,
not the luck of the draw."""

EnvSource = Union[str, Callable[[], object]]

RESUMABLE_CHANGES = ("num_episodes", "env_workers")
"""Config fields a resumed run may change: neither changes what the run computes."""


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
      interrupted: the run stopped early on Ctrl-C (after saving a checkpoint).
    """

    learner: MADDPGLearner
    policy: MultiAgentPolicy
    history: List[Dict[str, float]]
    env_steps: int
    wall_s: float
    episodes: int = 0
    num_updates: int = 0
    eval_s: float = 0.0
    update_s: float = 0.0
    first_update_s: float = 0.0
    interrupted: bool = False

    @property
    def env_steps_per_s(self) -> float:
        """Training env steps per second, evaluation time left out."""
        return self.env_steps / max(self.wall_s - self.eval_s, 1e-9)


def build_env(source: EnvSource, config: MADDPGConfig, env_kwargs: Optional[dict] = None) -> EnvAdapter:
    """An ``EnvAdapter`` from an mpe2 scenario name or a factory of PettingZoo envs."""
    if isinstance(source, str):
        return make_env(source, max_cycles=config.episode_length, **(env_kwargs or {}))
    env = source()
    return env if isinstance(env, EnvAdapter) else EnvAdapter(env)


def build_vec_env(source: EnvSource, config: MADDPGConfig,
                  env_kwargs: Optional[dict] = None) -> VecEnv:
    """The ``VecEnv`` of ``config.num_envs`` environments (in ``config.env_workers`` workers)."""
    if isinstance(source, str):
        factory = ScenarioFactory(source, config.episode_length,
                                  tuple(sorted((env_kwargs or {}).items())))
    else:
        factory = AdapterFactory(source)
    return VecEnv(factory, config.num_envs, config.env_workers)


@dataclasses.dataclass(frozen=True)
class AdapterFactory:
    """Wraps a zero-argument env factory so that it returns an ``EnvAdapter``.

    Picklable (for worker processes) when ``source`` is a module-level function.
    """

    source: Callable[[], object]

    def __call__(self) -> EnvAdapter:
        env = self.source()
        return env if isinstance(env, EnvAdapter) else EnvAdapter(env)


def episode_seed(seed: int, episode: int) -> int:
    """The reset seed of training episode ``episode`` (1-based) of a run seeded ``seed``.

    Every episode is seeded on its own, so a resumed run meets the same
    start states as an unbroken one.
    """
    return int(np.random.SeedSequence([seed, episode]).generate_state(1)[0])


def run_episode(policy: MultiAgentPolicy, env: EnvAdapter, max_steps: int,
                seed: Optional[int] = None, explore: bool = False) -> np.ndarray:
    """Plays one episode without learning; returns each agent's return."""
    obs = env.reset(seed=seed)
    returns = np.zeros(env.num_agents)
    for _ in range(max_steps):
        step = env.step(policy.act(obs, explore=explore))
        returns += step.rewards
        obs = step.obs
        if env.done:
            break
    return returns


def evaluate(policy: MultiAgentPolicy, env: Union[EnvAdapter, VecEnv], episodes: int,
             max_steps: int, seed: int = 0) -> np.ndarray:
    """Mean per-agent return over ``episodes`` greedy episodes (seeds seed, seed+1, ...).

    With a ``VecEnv`` the episodes run ``num_envs`` at a time, with batched acting.
    """
    if not isinstance(env, VecEnv):
        return sum(run_episode(policy, env, max_steps, seed=seed + k)
                   for k in range(episodes)) / episodes
    total = np.zeros(env.num_agents)
    for first in range(0, episodes, env.num_envs):
        obs, alive = env.reset([seed + k for k in range(first, min(first + env.num_envs,
                                                                    episodes))])
        for _ in range(max_steps):
            if not alive.any():
                break
            step = env.step(policy.act_packed(obs, explore=False))
            total += step.rewards.sum(axis=0)
            obs, alive = step.obs, step.alive
    return total / episodes


def train(config: MADDPGConfig = MADDPGConfig(), scenario: EnvSource = "simple_adversary_v3",
          *, env_kwargs: Optional[dict] = None, out_dir: Optional[str] = None,
          verbose: bool = True, resume: bool = False, overwrite: bool = False) -> TrainingResult:
    """Trains MADDPG on a PettingZoo environment.

    Args:
      config: hyperparameters and schedule (``num_episodes``, ``seed``, ...).
      scenario: an mpe2 scenario name (``"simple_adversary_v3"``) or a
        zero-argument function that returns a PettingZoo env (or an EnvAdapter).
      env_kwargs: scenario options for a named scenario (``continuous_actions``...).
      out_dir: the run folder (see ``tf_maddpg.runs``): config, metrics,
        plot, TensorBoard events, checkpoints every
        ``config.checkpoint_interval`` episodes and at the end, the actors
        and their SavedModels.
      verbose: show a progress bar (plain lines when stderr is not a
        terminal) and print the evaluation table.
      resume: continue the run in ``out_dir`` from its newest readable
        checkpoint; ``config`` must equal the run's except for
        ``num_episodes``, the new total. The result is the same as a run
        that was never stopped.
      overwrite: replace a run that ``out_dir`` already holds.

    The first Ctrl-C finishes the current episode, saves a checkpoint and
    returns with ``interrupted=True``; a second one stops at once (raising
    ``KeyboardInterrupt``) and keeps the last checkpoint.

    Returns:
      A ``TrainingResult``.

    Raises:
      FloatingPointError: a loss became NaN or infinite (the message names
        the agent and the loss); the last good checkpoint is kept.
      RunFolderError: ``out_dir`` holds another run (without ``resume`` or
        ``overwrite``), or not the run being resumed.
      CheckpointError: no checkpoint of the run could be restored.
    """
    if resume and not out_dir:
        raise ValueError("resume=True needs out_dir, the folder of the run to continue")
    run_info = _prepare_folder(out_dir, config, scenario, env_kwargs, resume, overwrite)
    if run_info is not None:
        env_kwargs = run_info.env_kwargs

    keras.utils.set_random_seed(config.seed)  # Python, NumPy and TensorFlow
    rng = np.random.default_rng(config.seed)
    with build_vec_env(scenario, config, env_kwargs) as env:
        if run_info is not None:
            runs.check_same_agents(out_dir, run_info.specs, env.specs)
        loop = _TrainingLoop(config, env, rng, out_dir, verbose)
        if resume:
            loop.restore()
        else:
            loop.start(scenario if isinstance(scenario, str) else None, env_kwargs)
        return loop.run()


def _prepare_folder(out_dir, config, scenario, env_kwargs, resume, overwrite):
    """Checks the run folder; returns the RunInfo of the run being resumed."""
    if not out_dir:
        return None
    if resume:
        info = runs.read_run(out_dir)
        if isinstance(scenario, str) and info.scenario not in (None, scenario):
            raise runs.RunFolderError(f"{out_dir} is a run of {info.scenario}, not {scenario}")
        if env_kwargs and dict(env_kwargs) != info.env_kwargs:
            raise runs.RunFolderError(f"{out_dir} was run with scenario options "
                                      f"{info.env_kwargs}, not {dict(env_kwargs)}")
        saved, given = info.config.to_dict(), config.to_dict()
        changed = [f"{k} ({saved.get(k)!r} -> {given.get(k)!r})"
                   for k in sorted(set(saved) | set(given))
                   if k not in RESUMABLE_CHANGES and saved.get(k) != given.get(k)]
        if changed:
            raise runs.RunFolderError(
                f"resuming {out_dir} with a different config: {', '.join(changed)}; only "
                f"{' and '.join(RESUMABLE_CHANGES)} may change (start a new run to change "
                "anything else)")
        return info
    if runs.holds_run(out_dir):
        if not overwrite:
            raise runs.RunFolderError(
                f"{out_dir} already holds a run; continue it with --resume {out_dir} "
                "(resume=True), replace it with --overwrite, or choose another output folder")
        for name in (runs.CHECKPOINT_DIR, runs.TENSORBOARD_DIR, runs.ACTORS_DIR,
                     runs.SAVED_MODEL_DIR):
            shutil.rmtree(os.path.join(out_dir, name), ignore_errors=True)
    return None


class _TrainingLoop:
    """One training session: fresh or resumed, with or without a run folder."""

    def __init__(self, config, env, rng, out_dir, verbose):
        self.config = config
        self.env = env
        self.rng = rng
        self.out_dir = out_dir
        self.names = env.agents
        self.learner = make_learner(env.specs, config)
        self.policy = MultiAgentPolicy(env.specs, self.learner.actors, config.gumbel_temperature,
                                       config.epsilon, config.exploration_noise,
                                       seed=config.seed + 2)
        if config.async_update and self.policy.backend != "numpy":
            raise ValueError("async_update needs actors that the NumPy policy runs (Dense "
                             "layers); these act through the graph, which would read weights "
                             "while the update writes them")
        # Evaluation acts with the actors' newest weights, whatever the behaviour policy holds.
        self.eval_policy = MultiAgentPolicy(env.specs, self.learner.actors, seed=config.seed + 3)
        self.buffer = ReplayBuffer(env.specs, config.buffer_size)
        self.progress = Progress()
        self.history: List[Dict[str, float]] = []
        self.checkpoint = None
        self.saved_episode = None
        self._updater = None  # the background thread of async_update
        self._pending = None  # (future, env_steps, launch time) of the update in flight
        if out_dir:
            self.checkpoint = TrainingCheckpoint(os.path.join(out_dir, runs.CHECKPOINT_DIR),
                                                 self.learner, self.policy, self.buffer, rng)
        self.log = _RunLog(out_dir, self.names, verbose)

    def start(self, scenario_name, env_kwargs):
        if self.out_dir:
            runs.write_run_files(self.out_dir, scenario_name, env_kwargs, self.env.specs,
                                 self.config)
        self.log.open(history=[])

    def restore(self):
        self.progress = self.checkpoint.restore()
        self.saved_episode = self.progress.episode
        self.history = [row for row in read_metrics(os.path.join(self.out_dir, runs.METRICS_FILE))
                        if row["episode"] <= self.progress.episode]
        runs.write_run_files(self.out_dir, *self._run_identity(), self.env.specs, self.config)
        self.log.open(history=self.history)
        self.log.say(f"resumed {self.out_dir} at episode {self.progress.episode} "
                     f"({self.progress.env_steps} env steps)")

    def _run_identity(self):
        info = runs.read_run(self.out_dir)
        return info.scenario, info.env_kwargs

    def run(self) -> TrainingResult:
        config, progress = self.config, self.progress
        session_start, wall_before = time.perf_counter(), progress.wall_s
        steps_before, eval_before = progress.env_steps, progress.eval_s
        interrupted = False
        self.log.start_bar(config.num_episodes, progress.episode)
        try:
            with _StopOnCtrlC(self.log) as stop:
                while progress.episode < config.num_episodes and not stop.requested:
                    count = self._round_size()
                    self._train_round(progress.episode + 1, count)
                    progress.episode += count
                    progress.wall_s = wall_before + time.perf_counter() - session_start
                    rate = (progress.env_steps - steps_before) / max(
                        progress.wall_s - wall_before - (progress.eval_s - eval_before), 1e-9)
                    self.log.episodes_done(count, rate)
                    if progress.episode % config.eval_interval == 0:
                        started = time.perf_counter()
                        self._evaluate(rate)
                        progress.eval_s += time.perf_counter() - started
                        progress.wall_s = wall_before + time.perf_counter() - session_start
                    if self.checkpoint and progress.episode % config.checkpoint_interval == 0:
                        self._save_checkpoint()
                interrupted = stop.requested
            self._finish_update()
        except FloatingPointError as error:
            raise FloatingPointError(f"{error} {self._kept_checkpoint()}") from None
        except KeyboardInterrupt:
            self.log.say(f"stopped at once: {self._kept_checkpoint()}")
            raise
        finally:
            self.log.close_bar()
            if self._updater is not None:  # let an update in flight end before anything else
                self._updater.shutdown(wait=True)
                self._updater = None
        if self.checkpoint and self.saved_episode != progress.episode:
            self._save_checkpoint()
        self._finish(interrupted)
        self.policy.sync()  # the trained weights, for whoever uses the returned policy
        return TrainingResult(self.learner, self.policy, self.history, progress.env_steps,
                              progress.wall_s, progress.episode, progress.num_updates,
                              progress.eval_s, progress.update_s, progress.first_update_s,
                              interrupted)

    def _round_size(self) -> int:
        """Episodes in the next lockstep round: up to num_envs, never past an
        evaluation, a checkpoint or the end, so that these fall on the same
        episodes whatever num_envs is (and whether the run has a folder or not)."""
        config, episode = self.config, self.progress.episode
        return min(config.num_envs, config.num_episodes - episode,
                   config.eval_interval - episode % config.eval_interval,
                   config.checkpoint_interval - episode % config.checkpoint_interval)

    def _train_round(self, first_episode: int, count: int) -> None:
        """Episodes first_episode .. first_episode + count - 1, one per environment, in lockstep."""
        config, progress, interval = self.config, self.progress, self.config.update_interval
        obs, alive = self.env.reset([episode_seed(config.seed, first_episode + k)
                                     for k in range(count)])
        for _ in range(config.episode_length):
            acting = alive.any(axis=1)  # [num_envs]: environments still in their episode
            if not acting.any():
                break
            actions = self.policy.act_packed(obs, explore=True)
            step = self.env.step(actions)
            # One packed row per transition, in ReplayBuffer's column order.
            rows = np.concatenate([obs, actions, step.obs, step.rewards, step.terminated, alive],
                                  axis=1, dtype=np.float32)
            self.buffer.add_packed(rows[acting], alive[acting])
            before = progress.env_steps
            progress.env_steps += int(acting.sum())
            if len(self.buffer) >= config.minimal_size:
                for _ in range(progress.env_steps // interval - before // interval):
                    self._update()
            obs, alive = step.obs, step.alive

    def _update(self) -> None:
        """One update of every agent on a fresh sample, in the schedule's place.

        With ``async_update`` the update runs in a background thread: the
        one before it is waited for and handed to the policy first, so the
        policy acts one update behind.
        """
        config = self.config
        started = time.perf_counter()
        if not config.async_update:
            losses = self.learner.update_packed(
                self.buffer.sample_packed(config.batch_size, self.rng))
            self.policy.sync()
            elapsed = time.perf_counter() - started
            self.progress.update_s += elapsed
            self._record_update(losses, elapsed)
            return
        self._finish_update()
        self.policy.sync()  # the behaviour policy takes the newest weights only here
        rows = self.buffer.sample_packed(config.batch_size, self.rng)
        if self._updater is None:
            self._updater = concurrent.futures.ThreadPoolExecutor(1, "tf_maddpg-update")
        self._pending = (self._updater.submit(self.learner.update_packed, rows),
                         self.progress.env_steps, started)
        self.progress.update_s += time.perf_counter() - started

    def _finish_update(self) -> None:
        """Waits for the update in flight, if any, and logs its losses.

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
        self._record_update(losses, time.perf_counter() - launched, env_steps)

    def _record_update(self, losses, elapsed, env_steps=None) -> None:
        progress = self.progress
        if progress.num_updates == 0:
            progress.first_update_s = elapsed
        check_finite(losses, progress.env_steps if env_steps is None else env_steps)
        progress.num_updates += 1
        for key, value in losses.items():  # MATD3's critics-only updates log no actor loss
            progress.loss_sums[key] = progress.loss_sums.get(key, 0.0) + value
            progress.loss_counts[key] = progress.loss_counts.get(key, 0) + 1

    def _evaluate(self, rate: float) -> None:
        config, progress = self.config, self.progress
        self._finish_update()
        self.eval_policy.sync()
        returns = evaluate(self.eval_policy, self.env, config.eval_episodes,
                           config.episode_length, seed=config.seed + EVAL_SEED_OFFSET)
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

    def _save_checkpoint(self) -> None:
        self._finish_update()
        self.checkpoint.save(self.progress)
        save_actors(self.learner.actors, self.env.specs,
                    os.path.join(self.out_dir, runs.ACTORS_DIR))
        self.saved_episode = self.progress.episode

    def _kept_checkpoint(self) -> str:
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
            plot_returns(self.history, os.path.join(self.out_dir, runs.PLOT_FILE))
        if interrupted:
            self.log.say(f"stopped at episode {self.progress.episode}, checkpoint saved; "
                         f"continue with: tf-maddpg train --resume {self.out_dir}")
            return
        from tf_maddpg.export import export_actors

        export_actors(self.learner.actors, self.env.specs,
                      os.path.join(self.out_dir, runs.SAVED_MODEL_DIR))
        self.log.say(f"done: metrics, plot, checkpoints, actors and SavedModels are in "
                     f"{self.out_dir}")


def check_finite(losses: Dict[str, float], env_steps: int) -> None:
    """Raises FloatingPointError naming the agent and loss of a NaN or infinite loss."""
    for key, value in losses.items():
        if not math.isfinite(value):
            _, kind, agent = key.split("/", 2)
            raise FloatingPointError(
                f"the {kind} loss of agent {agent!r} became {value} at env step {env_steps}. "
                "Lower the learning rates, set max_grad_norm, or check the rewards for "
                "NaN or huge values.")


class _StopOnCtrlC:
    """The first Ctrl-C asks the loop to stop after the episode; a second stops at once.

    Only the main thread can handle signals; elsewhere Ctrl-C raises as usual.
    """

    def __init__(self, log):
        self.log = log
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.log.say("Ctrl-C: finishing this episode, then saving a checkpoint "
                     "(press Ctrl-C again to stop at once)")


class _RunLog:
    """Everything a run shows and writes: the bar, the table, metrics.csv, returns.png, TensorBoard."""

    def __init__(self, out_dir, names, verbose):
        self.out_dir = out_dir
        self.names = names
        self.verbose = verbose
        self.csv = None
        self.writer = None
        self.bar = None
        self.header_printed = False
        self.latest = ""

    def open(self, history):
        if not self.out_dir:
            return
        columns = metric_columns(self.names)
        self.csv = MetricsCSV(os.path.join(self.out_dir, runs.METRICS_FILE), columns)
        for row in history:
            self.csv.write({k: row.get(k, math.nan) for k in columns})
        self.writer = tf.summary.create_file_writer(
            os.path.join(self.out_dir, runs.TENSORBOARD_DIR))

    def start_bar(self, total, done):
        # A bar on a terminal; elsewhere (a log file, CI) only the table's lines.
        interactive = self.verbose and sys.stderr.isatty()
        self.bar = tqdm(total=total, initial=done, unit="ep", disable=not interactive,
                        dynamic_ncols=True)

    def episodes_done(self, count, rate):
        self.bar.update(count)
        if not self.bar.disable:
            self.bar.set_postfix_str(f"{rate:.0f} steps/s{self.latest}", refresh=False)

    def close_bar(self):
        if self.bar is not None:
            self.bar.close()

    def say(self, message):
        if self.verbose:
            (self.bar.write if self.bar is not None else print)(message)
            sys.stdout.flush()

    def evaluation(self, row, history, rate):
        if self.csv:
            self.csv.write(row)
            plot_returns(history, os.path.join(self.out_dir, runs.PLOT_FILE))
            with self.writer.as_default(step=int(row["env_steps"])):
                for key, value in row.items():
                    if key.startswith(("return/", "loss/")) and math.isfinite(value):
                        tf.summary.scalar(key, value)
                tf.summary.scalar("env_steps_per_s", rate)
            self.writer.flush()
        self.latest = " | " + " ".join(f"{n} {row[f'return/{n}']:.2f}" for n in self.names)
        if not self.verbose:
            return
        if not self.header_printed:
            self.say(f"{'episode':>8} {'env_steps':>10} {'steps/s':>8} {'wall_s':>8} "
                     + " ".join(f"{n:>12}" for n in self.names))
            self.header_printed = True
        self.say(f"{row['episode']:>8} {row['env_steps']:>10} {rate:>8.0f} "
                 f"{row['wall_s']:>8.1f} "
                 + " ".join(f"{row[f'return/{n}']:>12.2f}" for n in self.names))

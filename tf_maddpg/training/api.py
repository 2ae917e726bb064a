"""``train``: a run of any registered algorithm, from the configuration to the run folder."""

from __future__ import annotations

import contextlib
from typing import Callable, Dict, Optional

from tf_maddpg.algorithms.registry import algorithm_of
from tf_maddpg.config import RunConfig
from tf_maddpg.envs.sources import EnvSource, build_vec_env
from tf_maddpg.runs import folder
from tf_maddpg.training import off_policy, on_policy
from tf_maddpg.training.session import TrainingResult, TrainingSession

LOOPS = {"off_policy": (off_policy.make_storage, off_policy.train_off_policy),
         "on_policy": (on_policy.make_storage, on_policy.train_on_policy)}
"""Each training loop (an algorithm's ``loop``): (storage factory, loop function)."""


def train(config: RunConfig, scenario: EnvSource = "simple_adversary_v3", *,
          env_kwargs: Optional[dict] = None, out_dir: Optional[str] = None,
          verbose: bool = True, resume: bool = False, overwrite: bool = False,
          on_evaluation: Optional[Callable[[Dict[str, float]], None]] = None) -> TrainingResult:
    """Trains the algorithm of ``config`` on a PettingZoo environment.

    Args:
      config: the algorithm's configuration (``MADDPGConfig``, ``MATD3Config``,
        ...): hyperparameters and schedule (``num_episodes``, ``seed``, ...).
      scenario: an mpe2 scenario name (``"simple_adversary_v3"``) or a
        zero-argument function that returns a PettingZoo env (or an EnvAdapter).
      env_kwargs: scenario options for a named scenario (``continuous_actions``...).
      out_dir: the run folder (see ``tf_maddpg.runs.folder``): config, metrics,
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
      on_evaluation: if given, called with a copy of each evaluation's metrics
        row (``episode``, ``env_steps``, ``wall_s``, ``return/<agent>``,
        ``loss/<kind>/<agent>``: a row of metrics.csv) right after it is
        written, before a checkpoint due at that episode; ``tf-maddpg sweep``
        reports it to Ray Tune. What it raises ends the run as a failure would
        (the last checkpoint is kept).

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
    algorithm = algorithm_of(config)
    with folder.RunLock(out_dir) if out_dir else contextlib.nullcontext():
        run_info = folder.prepare_run_folder(out_dir, config, scenario, env_kwargs, resume,
                                             overwrite)
        if run_info is not None:
            env_kwargs = run_info.env_kwargs
        # A run stopped before its first checkpoint has nothing to resume: it starts again.
        restore = resume and folder.has_checkpoint(out_dir)
        make_storage, loop = LOOPS[algorithm.loop]
        with build_vec_env(scenario, config.episode_length, env_kwargs, config.num_envs,
                           config.env_workers, config.env_backend) as env:
            if run_info is not None:
                folder.check_same_agents(out_dir, run_info.specs, env.specs)
            name = scenario if isinstance(scenario, str) else None
            session = TrainingSession(algorithm, config, env, make_storage(env.specs, config),
                                      out_dir, verbose, title=run_title(name, env_kwargs, config),
                                      on_evaluation=on_evaluation)
            session.begin(restore, name, env_kwargs)
            with session.running():
                loop(session)
            return session.result()


def run_title(scenario: Optional[str], env_kwargs: Optional[dict], config: RunConfig) -> str:
    """``simple_spread_v3 (N=4), matd3, seed 0``: what a run is, for its plot."""
    options = ", ".join(f"{k}={v}" for k, v in sorted((env_kwargs or {}).items())
                        if k != "render_mode")
    return (f"{scenario or 'custom environment'}{f' ({options})' if options else ''}, "
            f"{config.algo}, seed {config.seed}")

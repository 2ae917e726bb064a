"""The on-policy loop: IPPO, MAPPO, HAPPO and every algorithm that learns from its
latest rollout.

Read top to bottom: each round plays up to ``num_envs`` episodes in lockstep
with the current policy, sampling every agent's action, and stores every
step in the rollout; then one update learns from that rollout (GAE, epochs of
minibatches) and the policy acts with the new weights. Nothing is kept across
rounds, so checkpoints (between rounds) hold no storage. The session
(``session.py``) evaluates, checkpoints, logs and handles Ctrl-C between rounds.

NumPy's BLAS runs on one thread while the loop runs (``runtime.one_blas_thread``):
each round alternates the actors' small NumPy products with a TensorFlow update
that needs every core, which OpenBLAS's spinning threads held. IPPO alone on
2 cores trained 1.33 times faster for it; an off-policy run (MADDPG, IQL) was
0.96 times as fast, so the off-policy loop keeps NumPy's threads
(docs/benchmarks.md, "BLAS threads").
"""

from __future__ import annotations

from tf_maddpg.runtime import one_blas_thread
from tf_maddpg.storage.rollout import Rollout
from tf_maddpg.training.session import TrainingSession


def make_storage(specs, config) -> Rollout:
    """The rollout of one round: ``episode_length`` steps of ``num_envs`` environments."""
    return Rollout(specs, config.episode_length, config.num_envs)


def train_on_policy(run: TrainingSession) -> None:
    """Trains until ``config.num_episodes`` (or a Ctrl-C), with ``run``'s pieces."""
    config, env, progress = run.config, run.env, run.progress
    policy, rollout, updater = run.policy, run.storage, run.updater
    with one_blas_thread():
        for episodes in run.rounds():
            obs, alive = env.reset(run.episode_seeds(episodes))  # [E, obs_width], [E, N]
            rollout.clear()
            for _ in range(config.episode_length):
                if not alive.any():
                    break
                env_actions, actions = policy.sample(obs)
                step = env.step(env_actions)
                rollout.add(obs=obs, actions=actions, next_obs=step.obs, rewards=step.rewards,
                            terminated=step.terminated, truncated=step.truncated, alive=alive)
                progress.env_steps += int(alive.any(axis=1).sum())
                obs, alive = step.obs, step.alive
            updater.update(rollout)

"""The off-policy loop: MADDPG, MATD3 and every algorithm that learns from replay.

Read top to bottom: each round plays up to ``num_envs`` episodes in
lockstep, acting for every environment in one call, storing every
transition and updating every ``update_interval`` env steps (counted over
all environments, so the schedule is the same for any ``num_envs``). A
round begins with ``policy.reset`` (a recurrent policy's hidden states back
to zeros) and ``storage.start_round``, and ends with ``storage.end_round``:
an episode replay stores each environment's episode whole there, so its
updates sample the episodes of earlier rounds. The
session (``session.py``) evaluates, checkpoints, logs and handles Ctrl-C
between rounds; the updater runs each update, in place or in a background
thread (``async_update``), and hands the new weights to the acting policy.
"""

from __future__ import annotations

from tf_maddpg.storage.episodes import EpisodeReplay
from tf_maddpg.storage.replay import ReplayBuffer
from tf_maddpg.training.session import TrainingSession


def make_storage(specs, config):
    """The replay of a run: single transitions (``ReplayBuffer``), or whole episodes
    (``EpisodeReplay``) for recurrent Q-networks (``agent='gru'``)."""
    if getattr(config, "agent", "mlp") == "gru":
        return EpisodeReplay(specs, config.buffer_size, config.episode_length)
    return ReplayBuffer(specs, config.buffer_size)


def train_off_policy(run: TrainingSession) -> None:
    """Trains until ``config.num_episodes`` (or a Ctrl-C), with ``run``'s pieces."""
    config, env, progress = run.config, run.env, run.progress
    policy, buffer, updater = run.policy, run.storage, run.updater
    for episodes in run.rounds():
        obs, alive = env.reset(run.episode_seeds(episodes))  # [E, obs_width], [E, N]
        policy.reset(len(obs))  # a recurrent policy starts every episode from zeros
        buffer.start_round(len(obs))
        for _ in range(config.episode_length):
            acting = alive.any(axis=1)  # [E]: environments still in their episode
            if not acting.any():
                break
            actions = policy.act_packed(obs, explore=True)
            step = env.step(actions)
            rows = buffer.layout.pack(obs=obs, actions=actions, next_obs=step.obs,
                                      rewards=step.rewards, terminated=step.terminated,
                                      alive=alive)
            buffer.add_step(rows, alive, acting)
            before = progress.env_steps
            progress.env_steps += int(acting.sum())
            if len(buffer) >= config.minimal_size:  # an update every update_interval env steps
                for _ in range(progress.env_steps // config.update_interval
                               - before // config.update_interval):
                    updater.update(buffer.sample_packed(config.batch_size, run.replay_rng))
            obs, alive = step.obs, step.alive
        buffer.end_round()

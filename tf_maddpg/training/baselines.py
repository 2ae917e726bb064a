"""What a run's returns are measured against: the return of uniformly random actions,
and of one side of a trained run against random others, on the evaluation episodes
of seed 0. The sweep writes them beside its runs (``random.json``, when its trials
are done) and the results scripts make them with their runs; their reports only
read them."""

from __future__ import annotations

import os
from typing import Dict, Optional

import numpy as np

from tf_maddpg.algorithms.registry import ALGORITHMS
from tf_maddpg.algorithms.teams import group_of
from tf_maddpg.envs.sources import build_vec_env
from tf_maddpg.envs.specs import column_slices
from tf_maddpg.runs.actors import load_actors
from tf_maddpg.runs.folder import ACTORS_DIR
from tf_maddpg.seeding import RunSeeds
from tf_maddpg.training.evaluation import evaluate

RANDOM_EPISODES = 100
"""Episodes of a random-policy baseline."""


class SidesPolicy:
    """Greedy actions of ``policy`` for the agents marked in ``greedy``, uniformly
    random actions (drawn from ``rng``) for the others."""

    def __init__(self, specs, policy, greedy, rng):
        self.specs, self.policy, self.greedy, self.rng = specs, policy, greedy, rng
        self.columns = column_slices([s.action_dim for s in specs])

    def act_packed(self, obs, explore=False):
        if self.policy is not None:
            actions = self.policy.act_packed(obs, explore=False)
        else:
            actions = np.zeros((obs.shape[0], self.columns[-1].stop), np.float32)
        for spec, cols, greedy in zip(self.specs, self.columns, self.greedy):
            if greedy:
                continue
            if spec.discrete:
                actions[:, cols] = np.eye(spec.action_dim)[
                    self.rng.integers(spec.action_dim, size=obs.shape[0])]
            else:
                actions[:, cols] = self.rng.uniform(spec.low, spec.high,
                                                    size=(obs.shape[0], spec.action_dim))
        return actions


def greedy_policy(specs, run: str):
    """The greedy actions of the actors saved in ``run``/actors (observation -> logits
    or action): MADDPG's policy (from the registry), which acts on both kinds."""
    maddpg = ALGORITHMS["maddpg"]
    actors = load_actors(specs, os.path.join(run, ACTORS_DIR))
    return maddpg.make_policy(specs, actors, maddpg.config_class())


def random_returns(scenario: str, env_kwargs: Optional[dict] = None,
                   episodes: int = RANDOM_EPISODES, episode_length: int = 25,
                   run: Optional[str] = None, trained: tuple = ()) -> Dict[str, float]:
    """Per agent, the mean return of uniformly random actions on the evaluation episodes
    of seed 0 (``RunSeeds(0).evaluation_seeds``).

    With ``run`` (a finished run's folder, or a folder with ``actors/``), the
    agents of the groups in ``trained`` act greedily with that run's actors
    instead, against random others.
    """
    with build_vec_env(scenario, episode_length, dict(env_kwargs or {}), num_envs=16) as env:
        policy = None if run is None else greedy_policy(env.specs, run)
        greedy = [policy is not None and group_of(s.name) in trained for s in env.specs]
        sides = SidesPolicy(env.specs, policy, greedy, np.random.default_rng(0))
        returns = evaluate(sides, env, RunSeeds(0).evaluation_seeds(episodes), episode_length)
    return dict(zip(env.agents, returns))

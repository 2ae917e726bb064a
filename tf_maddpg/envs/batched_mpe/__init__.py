"""A batched, pure-NumPy re-implementation of mpe2 (the PettingZoo particle
environments): many environments of one scenario stepped at once, equal to
mpe2's ``parallel_env`` value for value.

Example::

    import numpy as np
    from tf_maddpg.envs.batched_mpe import make_batched_env

    env = make_batched_env("simple_spread_v3", num_envs=1024, N=3)
    obs = env.reset(seeds=range(1024))          # one [1024, obs_dim] array per agent
    obs, rew, term, trunc = env.step([np.zeros(1024, int)] * env.num_agents)

Nothing here imports TensorFlow.
"""

from tf_maddpg.envs.batched_mpe.env import BatchedMPEEnv, seeded_generator
from tf_maddpg.envs.batched_mpe.registry import SCENARIOS, make_batched_env, scenario_options
from tf_maddpg.envs.batched_mpe.world import AgentSpec, BatchedWorld, LandmarkSpec

__all__ = ["AgentSpec", "BatchedMPEEnv", "BatchedWorld", "LandmarkSpec", "SCENARIOS",
           "make_batched_env", "scenario_options", "seeded_generator"]

"""MAPPO (Yu et al. 2022): PPO per agent with a centralised value function of the global
state; shared parameters by default."""

from tf_maddpg.algorithms.base import Algorithm
from tf_maddpg.algorithms.mappo.config import MAPPOConfig

ALGORITHM = Algorithm(
    name="mappo", config_class=MAPPOConfig, loop="on_policy",
    summary="MAPPO: PPO actors, a centralised value critic of the global state",
    learner="tf_maddpg.algorithms.ppo.learner:PPOLearner",
    policy="tf_maddpg.algorithms.ppo.policy:make_policy")

__all__ = ["ALGORITHM", "MAPPOConfig"]

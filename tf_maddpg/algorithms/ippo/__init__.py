"""IPPO (de Witt et al. 2020): PPO per agent, each critic on the agent's own observation."""

from tf_maddpg.algorithms.base import Algorithm
from tf_maddpg.algorithms.ippo.config import IPPOConfig

ALGORITHM = Algorithm(
    name="ippo", config_class=IPPOConfig, loop="on_policy",
    summary="IPPO: PPO per agent, a value critic of the agent's own observation",
    learner="tf_maddpg.algorithms.ppo.learner:PPOLearner",
    policy="tf_maddpg.algorithms.ppo.policy:make_policy")

__all__ = ["ALGORITHM", "IPPOConfig"]

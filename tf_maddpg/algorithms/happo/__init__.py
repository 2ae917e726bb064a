"""HAPPO (Kuba et al. 2022): heterogeneous agents updated one after another, each
surrogate weighted by the ratios of the agents updated before it."""

from tf_maddpg.algorithms.base import Algorithm
from tf_maddpg.algorithms.happo.config import HAPPOConfig

ALGORITHM = Algorithm(
    name="happo", config_class=HAPPOConfig, loop="on_policy",
    summary="HAPPO: PPO actors updated in a random order with the ratios' product",
    learner="tf_maddpg.algorithms.happo.learner:HAPPOLearner",
    policy="tf_maddpg.algorithms.ppo.policy:make_policy")

__all__ = ["ALGORITHM", "HAPPOConfig"]

"""IQL (Tan 1993; Tampuu et al. 2017): independent double DQN per agent, on its own reward."""

from tf_maddpg.algorithms.base import Algorithm
from tf_maddpg.algorithms.iql.config import IQLConfig

ALGORITHM = Algorithm(
    name="iql", config_class=IQLConfig, loop="off_policy",
    summary="IQL: a double DQN per agent on its own reward, epsilon-greedy, replay",
    learner="tf_maddpg.algorithms.value_based.factory:make_q_learner",
    policy="tf_maddpg.algorithms.value_based.policy:make_policy")

__all__ = ["ALGORITHM", "IQLConfig"]

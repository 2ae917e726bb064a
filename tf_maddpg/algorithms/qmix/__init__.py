"""QMIX (Rashid et al. 2018): a team's Q-value is a monotonic mix of its agents'
Q-values, the mixer's non-negative weights made by hypernetworks of the global state."""

from tf_maddpg.algorithms.base import Algorithm
from tf_maddpg.algorithms.qmix.config import QMIXConfig

ALGORITHM = Algorithm(
    name="qmix", config_class=QMIXConfig, loop="off_policy",
    summary="QMIX: per-agent Q-networks mixed monotonically by hypernetworks of the state",
    learner="tf_maddpg.algorithms.value_based.factory:make_q_learner",
    policy="tf_maddpg.algorithms.value_based.policy:make_policy")

__all__ = ["ALGORITHM", "QMIXConfig"]

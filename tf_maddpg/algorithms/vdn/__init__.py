"""VDN (Sunehag et al. 2018): a team's Q-value is the sum of its agents' Q-values."""

from tf_maddpg.algorithms.base import Algorithm
from tf_maddpg.algorithms.vdn.config import VDNConfig

ALGORITHM = Algorithm(
    name="vdn", config_class=VDNConfig, loop="off_policy",
    summary="VDN: per-agent Q-networks summed into the team's, one TD error per team",
    learner="tf_maddpg.algorithms.value_based.factory:make_q_learner",
    policy="tf_maddpg.algorithms.value_based.policy:make_policy")

__all__ = ["ALGORITHM", "VDNConfig"]

"""MATD3 (Ackermann et al. 2019): MADDPG with twin critics, target smoothing and
delayed actor and target updates. Acts as MADDPG does."""

from tf_maddpg.algorithms.matd3.config import MATD3Config
from tf_maddpg.algorithms.base import Algorithm

ALGORITHM = Algorithm(
    name="matd3", config_class=MATD3Config, loop="off_policy",
    summary="MATD3: MADDPG with twin critics, target smoothing, delayed updates",
    learner="tf_maddpg.algorithms.matd3.learner:MATD3Learner",
    policy="tf_maddpg.algorithms.maddpg.policy:make_policy")

__all__ = ["ALGORITHM", "MATD3Config"]

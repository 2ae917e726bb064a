"""MADDPG (Lowe et al. 2017): deterministic actors, centralised critics, replay."""

from tf_maddpg.algorithms.maddpg.config import MADDPGConfig
from tf_maddpg.algorithms.base import Algorithm

ALGORITHM = Algorithm(
    name="maddpg", config_class=MADDPGConfig, loop="off_policy",
    summary="MADDPG: an actor per agent, a centralised critic per agent, replay",
    learner="tf_maddpg.algorithms.maddpg.learner:MADDPGLearner",
    policy="tf_maddpg.algorithms.maddpg.policy:make_policy")

__all__ = ["ALGORITHM", "MADDPGConfig"]

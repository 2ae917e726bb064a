"""tf_maddpg: MADDPG in TensorFlow 2 / Keras 3 for PettingZoo environments."""

from tf_maddpg.buffer import Batch, ReplayBuffer
from tf_maddpg.config import MADDPGConfig
from tf_maddpg.envs import EnvAdapter, StepResult, known_scenarios, make_env
from tf_maddpg.learner import ActionNoise, MADDPGLearner, UpdateNoise
from tf_maddpg.networks import make_actor, make_critic
from tf_maddpg.policy import MultiAgentPolicy, load_actors, save_actors
from tf_maddpg.specs import AgentSpec
from tf_maddpg.training import TrainingResult, evaluate, train

__version__ = "0.1.0"

__all__ = [
    "ActionNoise", "AgentSpec", "Batch", "EnvAdapter", "MADDPGConfig", "MADDPGLearner",
    "MultiAgentPolicy", "ReplayBuffer", "StepResult", "TrainingResult", "UpdateNoise",
    "evaluate", "known_scenarios", "load_actors", "make_actor", "make_critic", "make_env",
    "save_actors", "train",
]

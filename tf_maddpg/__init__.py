"""tf_maddpg: MADDPG in TensorFlow 2 / Keras 3 for PettingZoo environments."""

from tf_maddpg.buffer import Batch, ReplayBuffer
from tf_maddpg.config import MADDPGConfig
from tf_maddpg.checkpoint import CheckpointError
from tf_maddpg.envs import EnvAdapter, StepResult, known_scenarios, make_env
from tf_maddpg.export import export_actors, load_exported
from tf_maddpg.learner import ActionNoise, MADDPGLearner, UpdateNoise
from tf_maddpg.networks import make_actor, make_critic
from tf_maddpg.policy import MultiAgentPolicy, load_actors, save_actors
from tf_maddpg.render import record_gif
from tf_maddpg.runs import RunFolderError, read_run
from tf_maddpg.specs import AgentSpec
from tf_maddpg.training import TrainingResult, evaluate, train

__version__ = "0.1.0"

__all__ = [
    "ActionNoise", "AgentSpec", "Batch", "CheckpointError", "EnvAdapter", "MADDPGConfig",
    "MADDPGLearner", "MultiAgentPolicy", "ReplayBuffer", "RunFolderError", "StepResult",
    "TrainingResult", "UpdateNoise", "evaluate", "export_actors", "known_scenarios",
    "load_actors", "load_exported", "make_actor", "make_critic", "make_env", "read_run",
    "record_gif", "save_actors", "train",
]

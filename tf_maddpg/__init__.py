"""tf_maddpg: MADDPG in TensorFlow 2 / Keras 3 for PettingZoo environments.

The public names below are imported on first use, so that a process that
needs only the environments (a ``VecEnv`` worker) does not load TensorFlow.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "tf_maddpg.buffer": ("Batch", "ReplayBuffer"),
    "tf_maddpg.config": ("MADDPGConfig", "MATD3Config", "config_from_dict"),
    "tf_maddpg.checkpoint": ("CheckpointError",),
    "tf_maddpg.envs": ("EnvAdapter", "StepResult", "known_scenarios", "make_env"),
    "tf_maddpg.export": ("export_actors", "load_exported"),
    "tf_maddpg.learner": ("ActionNoise", "MADDPGLearner", "UpdateNoise"),
    "tf_maddpg.matd3": ("MATD3Learner", "MATD3Noise", "make_learner"),
    "tf_maddpg.networks": ("make_actor", "make_critic"),
    "tf_maddpg.policy": ("MultiAgentPolicy", "load_actors", "save_actors"),
    "tf_maddpg.render": ("record_gif",),
    "tf_maddpg.runs": ("RunFolderError", "read_run"),
    "tf_maddpg.specs": ("AgentSpec",),
    "tf_maddpg.training": ("TrainingResult", "evaluate", "train"),
    "tf_maddpg.vec_env": ("ScenarioFactory", "VecEnv"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name):
    if name in _MODULE_OF:
        value = getattr(importlib.import_module(_MODULE_OF[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tf_maddpg' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)

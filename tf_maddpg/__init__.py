"""tf_maddpg: MADDPG and the centralised-training family in TensorFlow 2 / Keras 3,
for PettingZoo environments.

The public names below are imported on first use, so that a process that
needs only the environments (a ``VecEnv`` worker) or the command line's
parser does not load TensorFlow.

Importing tf_maddpg is enough for ``keras.models.load_model`` to read a run's
``actors/*.keras`` of every algorithm: our Keras layers (``tf_maddpg.networks``)
register themselves as soon as Keras is imported, before or after tf_maddpg.
"""

import importlib
import sys

from tf_maddpg.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "tf_maddpg.algorithms.maddpg.config": ("MADDPGConfig",),
    "tf_maddpg.algorithms.matd3.config": ("MATD3Config",),
    "tf_maddpg.algorithms.iql.config": ("IQLConfig",),
    "tf_maddpg.algorithms.vdn.config": ("VDNConfig",),
    "tf_maddpg.algorithms.qmix.config": ("QMIXConfig",),
    "tf_maddpg.algorithms.value_based.learner": ("QLearner",),
    "tf_maddpg.algorithms.value_based.policy": ("EpsilonGreedyPolicy",),
    "tf_maddpg.algorithms.ippo.config": ("IPPOConfig",),
    "tf_maddpg.algorithms.mappo.config": ("MAPPOConfig",),
    "tf_maddpg.algorithms.happo.config": ("HAPPOConfig",),
    "tf_maddpg.algorithms.ppo.learner": ("PPOLearner",),
    "tf_maddpg.algorithms.happo.learner": ("HAPPOLearner",),
    "tf_maddpg.algorithms.ppo.policy": ("StochasticPolicy",),
    "tf_maddpg.algorithms.maddpg.learner": ("ActionNoise", "MADDPGLearner", "UpdateNoise"),
    "tf_maddpg.algorithms.matd3.learner": ("MATD3Learner", "MATD3Noise"),
    "tf_maddpg.algorithms.policy": ("MultiAgentPolicy",),
    "tf_maddpg.algorithms.registry": ("ALGORITHMS", "config_from_dict"),
    "tf_maddpg.envs": ("AgentSpec", "EnvAdapter", "StepResult", "VecEnv", "known_scenarios",
                       "make_env"),
    "tf_maddpg.envs.batched_mpe": ("make_batched_env",),
    "tf_maddpg.export": ("export_actors", "load_exported"),
    "tf_maddpg.networks.mlp": ("make_actor", "make_critic"),
    "tf_maddpg.render": ("record_gif",),
    "tf_maddpg.runs.actors": ("load_actors", "save_actors"),
    "tf_maddpg.runs.checkpoint": ("CheckpointError",),
    "tf_maddpg.runs.folder": ("RunFolderError", "read_run"),
    "tf_maddpg.storage.replay": ("Batch", "ReplayBuffer"),
    "tf_maddpg.storage.rollout": ("Rollout",),
    "tf_maddpg.training": ("TrainingResult", "evaluate", "train"),
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__ = lazy_exports(__name__, globals(), _EXPORTS)


def __dir__():
    return sorted(list(globals()) + __all__)


def _register_layers():
    try:
        importlib.import_module("tf_maddpg.networks")
    except ImportError:  # Keras without TensorFlow: nothing to register
        pass


class _RegisterLayersWithKeras:
    """Imports ``tf_maddpg.networks`` (whose layers register themselves with Keras) right
    after ``keras`` is imported, so that no TensorFlow is loaded before it is needed. A
    meta path finder by its ``find_spec`` alone: importlib.abc would cost the command line
    a tenth of a second of start-up, when a Ctrl-C cannot be answered in one line yet."""

    def find_spec(self, name, path, target=None):
        if name != "keras":
            return None
        import importlib.util

        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            _register_layers()

        spec.loader.exec_module = exec_then_register
        return spec


if "keras" in sys.modules:
    _register_layers()
elif not any(isinstance(f, _RegisterLayersWithKeras) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterLayersWithKeras())

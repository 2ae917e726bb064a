"""Environments: the PettingZoo adapter, the mpe2 scenarios (direct path and
batched), Gymnasium Tuple environments, and several environments stepped
together. Nothing here imports TensorFlow."""

from tf_maddpg.envs.adapter import EnvAdapter, PackedStep, StepResult, as_adapter
from tf_maddpg.envs.gym_tuple import TupleParallelEnv
from tf_maddpg.envs.mpe import known_scenarios, make_env, scenario_options
from tf_maddpg.envs.sources import (EnvSource, ScenarioFactory, build_adapter, build_vec_env,
                                    env_factory)
from tf_maddpg.envs.specs import AgentSpec
from tf_maddpg.envs.vec_env import VecEnv

__all__ = ["AgentSpec", "EnvAdapter", "EnvSource", "PackedStep", "ScenarioFactory", "StepResult",
           "TupleParallelEnv", "VecEnv", "as_adapter", "build_adapter", "build_vec_env",
           "env_factory", "known_scenarios", "make_env", "scenario_options"]

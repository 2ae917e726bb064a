"""The value-based family's learner for a config (the registry's entry for IQL, VDN
and QMIX): ``QLearner``, or ``RecurrentQLearner`` for GRU agents."""

from __future__ import annotations

from typing import Sequence

from tf_maddpg.algorithms.value_based.config import ValueBasedConfig
from tf_maddpg.algorithms.value_based.learner import QLearner
from tf_maddpg.algorithms.value_based.recurrent import RecurrentQLearner
from tf_maddpg.envs.specs import AgentSpec


def make_q_learner(specs: Sequence[AgentSpec], config: ValueBasedConfig) -> QLearner:
    """The learner of an IQL, VDN or QMIX ``config`` (the registry's entry): ``QLearner``,
    or ``RecurrentQLearner`` for ``agent='gru'``."""
    if config.agent == "gru":
        return RecurrentQLearner(specs, config)
    return QLearner(specs, config)

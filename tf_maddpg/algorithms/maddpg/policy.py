"""MADDPG's and MATD3's policy: ``MultiAgentPolicy`` (``tf_maddpg.algorithms.policy``)
with the exploration of a config."""

from __future__ import annotations

from typing import Optional, Sequence

import keras
import numpy as np

from tf_maddpg.algorithms.policy import MultiAgentPolicy
from tf_maddpg.envs.specs import AgentSpec


def make_policy(specs: Sequence[AgentSpec], actors: Sequence[keras.Model], config,
                rng: Optional[np.random.Generator] = None) -> MultiAgentPolicy:
    """The policy of a MADDPG or MATD3 ``config`` over ``actors`` (the registry's entry)."""
    return MultiAgentPolicy(specs, actors, config.gumbel_temperature, config.epsilon,
                            config.exploration_noise, rng=rng)

"""MAPPO's settings: the PPO family's defaults, which are the MAPPO repository's for MPE
(marlbenchmark/on-policy, train_mpe_spread.sh; see tf_maddpg/algorithms/ppo/config.py)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tf_maddpg.algorithms.ppo.config import PPOConfig


@dataclasses.dataclass(frozen=True)
class MAPPOConfig(PPOConfig):
    """Hyperparameters of MAPPO: the critic sees the global state (every agent's
    observation, which is mpe2's env.state())."""

    algo: ClassVar[str] = "mappo"
    critic_input: ClassVar[str] = "state"

"""IPPO's settings: the MAPPO repository's MPE settings with its decentralised critic
(``--use_centralized_V False``, the repository's IPPO); see tf_maddpg/algorithms/ppo/config.py."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tf_maddpg.algorithms.ppo.config import PPOConfig


@dataclasses.dataclass(frozen=True)
class IPPOConfig(PPOConfig):
    """Hyperparameters of IPPO: each critic sees its agent's own observation."""

    algo: ClassVar[str] = "ippo"
    critic_input: ClassVar[str] = "observation"

"""IQL's settings: EPyMARL's IQL (``src/config/algs/iql.yaml``) with its feed-forward agent
and the family's discount, JaxMARL's 0.9; see tf_maddpg/algorithms/value_based/config.py."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tf_maddpg.algorithms.value_based.config import ValueBasedConfig
from tf_maddpg.config import documented


@dataclasses.dataclass(frozen=True)
class IQLConfig(ValueBasedConfig):
    """Hyperparameters of IQL: an independent double DQN per agent, each on its own
    reward (no mixer, no team reward); EPyMARL's IQL settings with gamma 0.9."""

    algo: ClassVar[str] = "iql"
    mixer: ClassVar[str] = "none"

    lr: float = documented(3e-4, """
        Adam learning rate of every network the update trains (Q-networks and mixers).
        EPyMARL: 5e-4 for VDN and QMIX, 3e-4 for IQL.""")
    epsilon_anneal_steps: int = documented(200_000, """
        Env steps over which epsilon falls linearly from epsilon_start to epsilon_finish
        (EPyMARL's IQL: 200,000; VDN and QMIX: 50,000).""")

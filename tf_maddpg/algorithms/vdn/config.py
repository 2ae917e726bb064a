"""VDN's settings: EPyMARL's VDN (``src/config/algs/vdn.yaml``) with its feed-forward agent
and the family's discount, JaxMARL's 0.9; see tf_maddpg/algorithms/value_based/config.py."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Dict, Tuple

from tf_maddpg.algorithms.teams import TEAM_REWARDS
from tf_maddpg.algorithms.value_based.config import ValueBasedConfig
from tf_maddpg.config import check_choice, documented


@dataclasses.dataclass(frozen=True)
class VDNConfig(ValueBasedConfig):
    """Hyperparameters of VDN: each team's Q-value is the sum of its members'
    Q-values, trained with one TD error on the team reward; EPyMARL's VDN settings
    with gamma 0.9."""

    algo: ClassVar[str] = "vdn"
    mixer: ClassVar[str] = "sum"
    choices: ClassVar[Dict[str, Tuple[str, ...]]] = {
        **ValueBasedConfig.choices, "team_reward": TEAM_REWARDS}
    """The values each text field takes (the command line's choices)."""

    # --- The team reward ---------------------------------------------------------------
    team_reward: str = documented("sum", """
        A team's reward: the 'sum' of its members' rewards (EPyMARL's
        reward_scalarisation default) or their 'mean' (the sum over the team's size).""")

    def __post_init__(self):
        super().__post_init__()
        check_choice(self, "team_reward", TEAM_REWARDS)

"""QMIX's settings: EPyMARL's QMIX (``src/config/algs/qmix.yaml``) with its feed-forward
agent and the family's discount, JaxMARL's 0.9 (with EPyMARL's 0.99 QMIX diverged here,
through the raw state its mixer reads, unless ``state_layer_norm``; bounded, it still
learned less than with 0.9); see tf_maddpg/algorithms/value_based/config.py."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tf_maddpg.algorithms.vdn.config import VDNConfig
from tf_maddpg.config import check_bool, check_int, documented


@dataclasses.dataclass(frozen=True)
class QMIXConfig(VDNConfig):
    """Hyperparameters of QMIX: VDN's with a monotonic mixer conditioned on the global
    state in place of the sum; EPyMARL's QMIX settings (mixer embedding 32,
    hypernetworks of two layers of 64)."""

    algo: ClassVar[str] = "qmix"
    mixer: ClassVar[str] = "qmix"

    # --- The mixer -----------------------------------------------------------------------
    mixing_embed_dim: int = documented(32, """
        Width of the QMIX mixer's hidden layer (EPyMARL's mixing_embed_dim).""")
    hypernet_hidden: int = documented(64, """
        Width of the hidden layer of each two-layer hypernetwork that makes the mixer's
        weights from the state (EPyMARL's hypernet_embed).""")
    state_layer_norm: bool = documented(False, """
        The mixer reads the state through a LayerNorm without weights, so that its
        weights stay bounded however far out the state is (True); False feeds the raw
        state as EPyMARL does, with which gamma 0.99 diverged on simple_spread (with
        True it stayed bounded, but learned less than with 0.9, where True changed
        little; networks/mixers.py, value_based/config.py). Runs from before this field
        are False.""")

    def __post_init__(self):
        super().__post_init__()
        check_int(self, "mixing_embed_dim", low=1)
        check_int(self, "hypernet_hidden", low=1)
        check_bool(self, "state_layer_norm")

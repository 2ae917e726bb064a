"""MATD3's settings: MADDPG's plus TD3's three changes.

MATD3 (Ackermann et al. 2019, https://arxiv.org/abs/1910.01465) gives every
agent twin centralised critics and takes the smaller of their target values;
smooths the target actions with clipped noise; and updates the actors and
every target network once per ``policy_delay`` critic updates (TD3, Fujimoto
et al. 2018, https://arxiv.org/abs/1802.09477).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Dict

from tf_maddpg.algorithms.maddpg.config import MADDPGConfig
from tf_maddpg.config import check_float, check_int, documented


@dataclasses.dataclass(frozen=True)
class MATD3Config(MADDPGConfig):
    """MADDPG's settings plus MATD3's."""

    algo: ClassVar[str] = "matd3"
    presets: ClassVar[Dict[str, Dict[str, object]]] = MADDPGConfig.presets
    """``original``: MADDPG's, openai/maddpg's update options and settings,
    with MATD3's twin critics, smoothing and delay on top (``original()``)."""

    # --- MATD3 -----------------------------------------------------------------
    policy_delay: int = documented(2, """
        Critic updates per update of the actors and of every target network (TD3's d; 1
        updates them every time).""")
    target_noise: float = documented(0.2, """
        Target policy smoothing: std of the Gaussian noise added to each target action
        before the critic values it (0 turns the smoothing off). Box agents: in units of
        half the action's range, added to the action, which is clipped back to the
        bounds. Discrete agents: added to the target actor's logits, from which the
        one-hot (or Gumbel-softmax) target action is formed, so it stays an action the
        agent could take (noise on the one-hot's entries left the simplex and made the
        critics diverge: see ``tf_maddpg.algorithms.matd3.learner``).""")
    target_noise_clip: float = documented(0.5, """
        The smoothing noise is clipped to [-target_noise_clip, target_noise_clip] (same
        units as target_noise): with target_actions='argmax' a Discrete agent's smoothed
        target action is, epsilon rows aside, one whose logit is within 2 *
        target_noise_clip of the largest.""")

    def __post_init__(self):
        super().__post_init__()
        check_int(self, "policy_delay", low=1)
        check_float(self, "target_noise", low=0.0)
        check_float(self, "target_noise_clip", low=0.0)

"""HAPPO's settings: HARL's tuned MPE configuration
(PKU-MARL/HARL, tuned_configs/pettingzoo_mpe/*/happo/config.json, the same for
simple_spread, simple_speaker_listener and simple_reference): learning rates
5e-4, 5 epochs, one minibatch, hidden layers of 128, 20 threads x 200 steps
per update (160 episodes of 25 steps here), no parameter sharing; the rest
as the PPO family's defaults (clip 0.2, GAE 0.95, gamma 0.99, entropy 0.01,
Huber 10, value normalisation, gradient norm 10, input LayerNorm)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Tuple

from tf_maddpg.algorithms.ppo.config import PPOConfig
from tf_maddpg.config import require


@dataclasses.dataclass(frozen=True)
class HAPPOConfig(PPOConfig):
    """Hyperparameters of HAPPO: per-agent critics of the global state, no sharing."""

    algo: ClassVar[str] = "happo"
    critic_input: ClassVar[str] = "state"

    num_envs: int = 160
    """Environments per rollout (HARL's 20 threads x 200 steps = 160 x 25 steps)."""
    eval_interval: int = 1_600
    """Evaluate every this many training episodes (10 updates)."""
    checkpoint_interval: int = 16_000
    """Save a checkpoint every this many episodes (and at the end)."""
    actor_lr: float = 5e-4
    """Adam learning rate of every actor."""
    critic_lr: float = 5e-4
    """Adam learning rate of every critic."""
    epochs: int = 5
    """Passes over each rollout, for each actor in turn and for the critics."""
    hidden_sizes: Tuple[int, ...] = (128, 128)
    """Hidden layer widths (ReLU) of every actor and critic."""
    share_parameters: bool = False
    """HAPPO's agents never share parameters (True is refused)."""

    def __post_init__(self):
        super().__post_init__()
        require(self, self.share_parameters is False, "share_parameters",
                "False: HAPPO updates each agent's own actor in turn (use mappo to share)")

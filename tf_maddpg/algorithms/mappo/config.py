"""MAPPO's settings: the PPO family's defaults, which are the MAPPO repository's for MPE
(marlbenchmark/on-policy, train_mpe_spread.sh; see tf_maddpg/algorithms/ppo/config.py),
and HARL's tuned MPE configuration as the preset ``harl``."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Dict

from tf_maddpg.algorithms.ppo.config import PPOConfig


@dataclasses.dataclass(frozen=True)
class MAPPOConfig(PPOConfig):
    """Hyperparameters of MAPPO: the critic sees the global state (every agent's
    observation, which is mpe2's env.state())."""

    algo: ClassVar[str] = "mappo"
    critic_input: ClassVar[str] = "state"
    presets: ClassVar[Dict[str, Dict[str, object]]] = {"harl": dict(
        actor_lr=5e-4, critic_lr=5e-4, epochs=5, hidden_sizes=(128, 128), num_envs=160,
        eval_interval=1_600, checkpoint_interval=16_000, team_critic=True)}
    """``harl``: HARL's tuned MPE MAPPO (PKU-MARL/HARL,
    ``tuned_configs/pettingzoo_mpe/*-discrete/mappo/config.json``, the same for
    simple_spread, speaker-listener and reference): lr 5e-4 for actor and
    critic, 5 epochs of one minibatch, hidden layers of 128 with LayerNorms, 20
    threads x 200 steps per update (160 episodes of 25 steps here), one V(s)
    critic on the team's summed reward, shared actors where the spaces allow."""

    @classmethod
    def harl(cls, **overrides) -> "MAPPOConfig":
        """HARL's tuned MPE configuration (the preset ``harl``), with overrides."""
        return cls.from_preset("harl", **overrides)

"""HAPPO's settings: HARL's tuned MPE configuration
(PKU-MARL/HARL, tuned_configs/pettingzoo_mpe/*/happo/config.json, the same for
simple_spread, simple_speaker_listener and simple_reference): learning rates
5e-4, 5 epochs, one minibatch, hidden layers of 128 with LayerNorms, 20
threads x 200 steps per update (160 episodes of 25 steps here), no parameter
sharing, and HARL's one critic: every agent gets the team's summed reward and
one V(s) of the global state gives the one advantage that every agent's
surrogate uses (``on_policy_ha_runner``); the rest as the PPO family's
defaults (clip 0.2, GAE 0.95, gamma 0.99, entropy 0.01, Huber 10, value
normalisation at every minibatch, gradient norm 10).

On a competitive scenario each team (``teams``: adversary_* against agent_*)
has its own critic and advantage, and the product of ratios runs within the
team: HAPPO's argument holds for each team's joint advantage.

``team_critic=False`` (with ``team_reward='own'``) is the per-agent variant
this library had before: each agent's own critic, reward and advantage, the
ratios' product over all agents. HAPPO's sequential update is derived for one
joint advantage, and the variant trails HARL's HAPPO (simple_spread at 2M env
steps: -17.1 per agent against about -11.9); it is kept so that runs made with
it still load, resume and export."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Dict, Tuple

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
    team_critic: bool = True
    """One V(s) critic per team on the team's summed reward, its advantage
    shared by every member (HARL's HAPPO); False: the per-agent variant (see
    the module docstring)."""
    saved_defaults: ClassVar[Dict[str, object]] = {**PPOConfig.saved_defaults,
                                                   "team_critic": False}
    """What runs saved before these fields existed were trained with."""

    def __post_init__(self):
        super().__post_init__()
        require(self, self.share_parameters is False, "share_parameters",
                "False: HAPPO updates each agent's own actor in turn (use mappo to share)")

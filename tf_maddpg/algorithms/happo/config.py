"""HAPPO's settings: HARL's algorithm (PKU-MARL/HARL, ``on_policy_ha_runner``) with
the PPO family's optimisation settings, and HARL's tuned MPE settings as the preset
``harl``.

HARL's algorithm: no parameter sharing, a random order of the agents at every
update, and one critic: every agent gets the team's summed reward and one V(s)
of the global state gives the one advantage that every agent's surrogate uses,
the joint advantage HAPPO's argument is made for. On a competitive scenario
each team (``teams``: adversary_* against agent_*) has its own critic and
advantage, and the product of ratios runs within the team.

The settings are the PPO family's defaults (the MAPPO repository's: 128
environments per rollout, 10 epochs of one minibatch, lr 7e-4, hidden layers
of 64 with LayerNorms, value normalisation at every minibatch, clip 0.2, GAE
0.95, gamma 0.99, entropy 0.01, Huber 10, gradient norm 10), not HARL's
tuned ones (``--preset harl``: lr 5e-4, 5 epochs, hidden layers of 128, 160
episodes per update; tuned_configs/pettingzoo_mpe/*/happo/config.json). The
reason, measured on simple_spread (seed 0, 2M env steps, mean return per agent;
docs/results/family/README.md, "Why our on-policy runs trail HARL's curves"):
HARL's settings reach -16.7 on mpe2 against about -11.9 on HARL's curve, yet
-9.7 on mpe2's scenario with the original MPE's order of integration
(examples/legacy_physics.py), where HARL's curves were made: the algorithm is
HARL's, and mpe2's physics, where an action moves its agent from the next step
on, learns slower with them. These settings reach -12.3 at 1.76M on mpe2.

``team_critic=False`` (with ``team_reward='own'``) is the per-agent variant
this library had before: each agent's own critic, reward and advantage, the
ratios' product over all agents. HAPPO's sequential update is derived for one
joint advantage, and the variant trailed (simple_spread at 2M env steps: -17.1
per agent); it is kept so that runs made with it still load, resume and
export."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Dict

from tf_maddpg.algorithms.ppo.config import PPOConfig
from tf_maddpg.config import documented, require


@dataclasses.dataclass(frozen=True)
class HAPPOConfig(PPOConfig):
    """Hyperparameters of HAPPO: a V(s) critic per team, one actor per agent."""

    algo: ClassVar[str] = "happo"
    critic_input: ClassVar[str] = "state"

    presets: ClassVar[Dict[str, Dict[str, object]]] = {"harl": dict(
        actor_lr=5e-4, critic_lr=5e-4, epochs=5, hidden_sizes=(128, 128), num_envs=160,
        eval_interval=1_600, checkpoint_interval=16_000)}
    """``harl``: HARL's tuned MPE HAPPO settings (lr 5e-4, 5 epochs, hidden layers
    of 128, 20 threads x 200 steps = 160 episodes of 25 steps per update)."""

    share_parameters: bool = documented(False, """
        HAPPO's agents never share parameters (True is refused).""")
    team_critic: bool = documented(True, """
        One V(s) critic per team on the team's summed reward, its advantage shared by
        every member (HARL's HAPPO); False: the per-agent variant (see the module
        docstring).""")
    saved_defaults: ClassVar[Dict[str, object]] = {**PPOConfig.saved_defaults,
                                                   "team_critic": False}
    """What runs saved before these fields existed were trained with."""

    def __post_init__(self):
        super().__post_init__()
        require(self, self.share_parameters is False, "share_parameters",
                "False: HAPPO updates each agent's own actor in turn (use mappo to share)")

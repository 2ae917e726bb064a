"""HAPPO's update (Kuba et al. 2022; HARL's ``on_policy_ha_runner``): the actors one
after another, in a random order.

The critics learn first, as MAPPO's do: by default one V(s) per team on the
team's summed reward (``team_critic``), so every member's advantage is the
team's joint advantage, the one HAPPO's argument is made for. Each update then
draws a random order of all agents; agent ``i_m`` runs its epochs with its
surrogate multiplied by ``M = prod over its team's agents updated before it of
pi_new(a|o) / pi_old(a|o)`` (per row; an agent not alive in a row contributes
1), and after its epochs its own new/old ratio joins its team's product. Agents
never share parameters. (The per-agent variant, ``team_critic=False``: every
agent's own critic and advantage, the product over all agents.)
"""

from __future__ import annotations

from typing import Dict

import numpy as np

from tf_maddpg.algorithms.ppo.learner import PPOLearner


class HAPPOLearner(PPOLearner):
    """PPOLearner with HAPPO's sequential actor updates (see the module docstring).

    Attributes:
      last_order: the agent order of the last update.
      last_factors: [rows, N] the factor M each agent's surrogate used in the last update.
    """

    def __init__(self, specs, config):
        super().__init__(specs, config)
        self._critic_epochs = self.compile_epochs(critics=True, actor_groups=())
        self._actor_epochs = [self.compile_epochs(critics=False, actor_groups=(g,))
                              for g in range(len(self.groups))]
        self.last_order = None
        self.last_factors = None

    def agent_order(self) -> np.ndarray:
        """A random order of the agents, drawn from the learner's generator."""
        return np.argsort(self.generator.uniform([len(self.specs)]).numpy(), kind="stable")

    def train(self, rows: Dict[str, np.ndarray]) -> Dict[str, float]:
        """The critics' epochs, then each actor's epochs in a random order with the factor
        (the product of the new/old ratios of its team's agents updated before it)."""
        losses = self.run_epochs(self._critic_epochs, rows)
        # The product runs within a team (HARL: one team); the per-agent variant's over all.
        scope = self.team_of if self.config.team_critic else [0] * len(self.specs)
        factors = {t: np.ones(len(rows["mask"]), np.float32) for t in set(scope)}
        self.last_order = self.agent_order()
        for i in self.last_order:
            rows["factor"][:, i] = factors[scope[i]]
            losses.update(self.run_epochs(self._actor_epochs[self.group_of[i]], rows))
            new_log_probs = self._log_probs(rows["obs"], rows["actions"]).numpy()
            ratio = np.exp(new_log_probs[:, i] - rows["old_log_probs"][:, i])
            factors[scope[i]] = factors[scope[i]] * np.where(
                rows["mask"][:, i] > 0, ratio, 1.0).astype(np.float32)
        self.last_factors = rows["factor"].copy()
        return losses

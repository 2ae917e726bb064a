"""HAPPO's update (Kuba et al. 2022): the actors one after another, in a random order.

The critics learn as MAPPO's do. Each update draws a random order of the
agents; agent ``i_m`` then runs its epochs with its surrogate multiplied by
``M = prod over the agents updated before it of pi_new(a|o) / pi_old(a|o)``
(per row; an agent not alive in a row contributes 1), and after its epochs
its own new/old ratio joins the product. Agents never share parameters.
"""

from __future__ import annotations

from typing import Dict

import numpy as np

from tf_maddpg.algorithms.ppo.learner import MiniBatch, PPOLearner


class HAPPOLearner(PPOLearner):
    """PPOLearner with HAPPO's sequential actor updates (see the module docstring).

    Attributes:
      last_order: the agent order of the last update.
    """

    def __init__(self, specs, config):
        super().__init__(specs, config)
        self._critic_step = self.compile_step(critics=True, actor_groups=())
        self._actor_steps = [self.compile_step(critics=False, actor_groups=(g,))
                             for g in range(len(self.groups))]
        self.last_order = None

    def agent_order(self) -> np.ndarray:
        """A random order of the agents, drawn from the learner's generator."""
        return np.argsort(self.generator.uniform([len(self.specs)]).numpy(), kind="stable")

    def train(self, rows: Dict[str, np.ndarray]) -> Dict[str, float]:
        """The critics' epochs, then each actor's epochs in a random order with the factor."""
        sums: Dict[str, float] = {}
        counts: Dict[str, int] = {}

        def run(step):
            for _ in range(self.config.epochs):
                for index in self.minibatches(len(rows["mask"])):
                    for k, v in step(MiniBatch(**{k: v[index] for k, v in rows.items()})).items():
                        sums[k] = sums.get(k, 0.0) + float(v)
                        counts[k] = counts.get(k, 0) + 1

        run(self._critic_step)
        factor = np.ones(len(rows["mask"]), np.float32)
        self.last_order = self.agent_order()
        for i in self.last_order:
            rows["factor"][:, i] = factor
            run(self._actor_steps[self.group_of[i]])
            new_log_probs = self._evaluate(rows["obs"], rows["obs"], rows["actions"])[0].numpy()
            ratio = np.exp(new_log_probs[:, i] - rows["old_log_probs"][:, i])
            factor = factor * np.where(rows["mask"][:, i] > 0, ratio, 1.0).astype(np.float32)
        return {k: sums[k] / counts[k] for k in sums}

"""The critics stay within the reward scale's bound over a run on simple_reference.

Every value the critics learn is a discounted sum of rewards, so a sound
update keeps |Q| <= max|r| / (1 - gamma). MATD3 on simple_reference (two
agents with 50 Discrete actions each) broke it: its target smoothing put
clipped noise on the one-hot target action's entries, which the clip to
[0, 1] could only raise for the 49 zeros, so the critic was asked for its
value at a point off the simplex (entries summing to 2.9 on average), where
it extrapolated to about 1.4 times its value at the one-hot, and every
bootstrapped value grew by that factor (tf_maddpg/algorithms/matd3/learner.py).
In the results run (16 environments, the defaults) the actor loss reached
2.4e10 and the critic loss 8e18 by 2M env steps.

The run here is that run made short: targets five times faster (tau 0.05),
batches of 256, an update every 25 env steps, 1,160 updates. Measured with
seed 0: the old smoothing took |Q| past the bound (119 by the end) at update
524, and to 166 times it by the end (1.5e9 by update 3,000 of a longer run);
with the noise on the logits the largest |Q| reaches 0.61 of the bound (0.69
over 3,160 updates), MADDPG's 0.72 (its case, the contrast, is marked
extended). About 30 s a case on 2 busy cores.
"""

import numpy as np
import pytest

from tf_maddpg import MADDPGConfig, MADDPGLearner, MATD3Config, MATD3Learner, train

EPISODES = 1_200  # 30,000 env steps in rounds of 16 environments: 1,160 updates
SETTINGS = dict(num_episodes=EPISODES, num_envs=16, eval_interval=EPISODES, eval_episodes=10,
                tau=0.05, batch_size=256, update_interval=25, minimal_size=1_000, seed=0)


@pytest.mark.parametrize("algo", ["matd3", pytest.param("maddpg", marks=pytest.mark.extended)])
def test_the_critics_stay_within_the_reward_bound_on_simple_reference(algo, monkeypatch):
    config_class, learner_class = {"matd3": (MATD3Config, MATD3Learner),
                                   "maddpg": (MADDPGConfig, MADDPGLearner)}[algo]
    config = config_class(**SETTINGS)
    seen = dict(updates=0, max_reward=0.0, ratios=[])  # ratios: max|Q| / bound, per check
    update_packed = learner_class.update_packed

    def checked(self, rows):
        losses = update_packed(self, rows)
        seen["updates"] += 1
        batch = self.layout.split(rows)
        seen["max_reward"] = max([seen["max_reward"]] + [float(np.max(np.abs(r)))
                                                         for r in batch.rewards])
        if seen["updates"] % 4 == 0:
            critics = [self.critics] + ([self.critics2] if algo == "matd3" else [])
            q = max(float(np.max(np.abs(self._q(c[i], batch.obs, batch.actions, batch.alive))))
                    for c in critics for i in range(len(self.specs)))
            seen["ratios"].append(q / (seen["max_reward"] / (1.0 - self.config.gamma)))
        return losses

    monkeypatch.setattr(learner_class, "update_packed", checked)
    train(config, "simple_reference_v3", verbose=False)

    ratios = np.array(seen["ratios"])
    assert seen["updates"] > 1_100 and len(ratios) > 275
    over = np.flatnonzero(ratios > 1.0)
    assert over.size == 0, (
        f"{algo}: |Q| left the bound max|r| / (1 - gamma) = "
        f"{seen['max_reward'] / (1.0 - config.gamma):.1f} at "
        f"update {4 * (over[0] + 1)} and reached {ratios.max():.3g} times it")
    # Not vacuous: the critics learned values of the reward's scale.
    assert ratios.max() > 0.25

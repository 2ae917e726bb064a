"""Training must learn: two agents of simple_spread learn to cover both landmarks.

Why this task. simple_spread_v3 with N=2 is cooperative: each agent is
rewarded for every landmark by the distance of the agent closest to it, and
penalised for collisions, so the two must split up, one per landmark. Unlike
simple_adversary, where the returns swing as one side and then the other
gets ahead (docs/results/simple_adversary.md), its return improves steadily,
so a threshold can be tight and still never flaky. It exercises everything
MADDPG adds to DDPG: two actors, two centralised critics that read both
agents' observations and actions, and the sequential update.

Why this threshold. With the reference settings, measured on 2 CPU cores
(seeds drawn with tf_maddpg.seeding, the batched mpe2 backend, 100
evaluation episodes): a uniformly random policy scores about -23 per agent,
untrained actors -30 to -42; after 1,600 episodes seeds 0, 1, 2 and 3
score -14.73, -13.69, -14.70 and -14.83 (seed 0 on the mpe2 backend: -14.73
as well, the two backends being equal). -19 sits 4 above random and 4.2
under the worst of those seeds. Broken updates end far from it (same seed
and schedule; run them with ``python tests/break_the_update.py KIND``): the
actor loss with its sign flipped -45.9; the actor taking its own action
from the batch, so that no critic gradient reaches it, -27.4; the critic
trained with every reward set to zero -42.7.

The same threshold holds with ``async_update`` (the policy acting one
update behind): seeds 1, 2 and 3 score -13.64, -14.96 and -14.24.

Both runs take about 17 seconds here (1,600 episodes, 400 updates each).
"""

import pytest

from tf_maddpg import MADDPGConfig, train

EPISODES = 1_600
THRESHOLD = -19.0


@pytest.mark.slow
@pytest.mark.parametrize("async_update", [False, True])
def test_two_agents_learn_to_spread_over_the_landmarks(async_update):
    config = MADDPGConfig(num_episodes=EPISODES, eval_interval=EPISODES, eval_episodes=100,
                          seed=0, async_update=async_update)
    result = train(config, "simple_spread_v3", env_kwargs={"N": 2}, verbose=False)
    (row,) = result.history
    for agent in ("agent_0", "agent_1"):
        assert row[f"return/{agent}"] > THRESHOLD, (
            f"after {EPISODES} episodes {agent} scores {row[f'return/{agent}']:.1f}; a learning "
            f"MADDPG beats {THRESHOLD} (random play: -23). Evaluation: {row}")

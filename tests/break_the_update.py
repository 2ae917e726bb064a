"""Runs the learning test's schedule with a deliberately broken update.

    python tests/break_the_update.py none          # the correct update
    python tests/break_the_update.py actor_sign    # actor loss with its sign flipped
    python tests/break_the_update.py no_actor_grad # own action from the batch: no critic gradient
    python tests/break_the_update.py zero_reward   # critic trained with every reward set to 0
    python tests/break_the_update.py mappo:none            # MAPPO's correct update
    python tests/break_the_update.py mappo:actor_sign      # the surrogate with its sign flipped
    python tests/break_the_update.py mappo:no_advantage    # every advantage set to zero

Prints the evaluation return per agent; tests/test_learning.py must pass for
``none`` and fail for every other. Not collected by pytest (a minute each).
"""

import sys

import tensorflow as tf

from tf_maddpg import MADDPGConfig, train
from tf_maddpg.algorithms.batches import masked_mean
from tf_maddpg.algorithms.maddpg.learner import MADDPGLearner
from tf_maddpg.algorithms.mappo.config import MAPPOConfig
from tf_maddpg.algorithms.ppo.learner import PPOLearner
from test_learning import EPISODES, MAPPO_EPISODES, THRESHOLD

correct_actor_loss = MADDPGLearner.actor_loss
correct_critic_loss = MADDPGLearner.critic_loss


def actor_sign(self, i, batch, noise):
    return -correct_actor_loss(self, i, batch, noise)


def no_actor_grad(self, i, batch, noise):
    raw = self._actor_pre[i](batch.obs[i])
    q = self._q(self.critics[i], batch.obs, batch.actions, batch.alive)
    return -masked_mean(q, batch.alive[i]) + self.config.logits_l2 * tf.reduce_mean(raw ** 2)


def zero_reward(self, i, batch, noise, target_outputs=None):
    zeros = tuple(r * 0.0 for r in batch.rewards)
    return correct_critic_loss(self, i, batch._replace(rewards=zeros), noise, target_outputs)


correct_actor_terms = PPOLearner.actor_terms


def ppo_actor_sign(self, i, batch):
    policy, entropy, rows = correct_actor_terms(self, i, batch)
    return -policy, entropy, rows


def ppo_no_advantage(self, i, batch):
    return correct_actor_terms(self, i, batch._replace(advantages=batch.advantages * 0.0))


BREAKAGES = {"none": {}, "actor_sign": {"actor_loss": actor_sign},
             "no_actor_grad": {"actor_loss": no_actor_grad},
             "zero_reward": {"critic_loss": zero_reward},
             "mappo:none": {}, "mappo:actor_sign": {"actor_terms": ppo_actor_sign},
             "mappo:no_advantage": {"actor_terms": ppo_no_advantage}}


def main(kind: str) -> None:
    learner = PPOLearner if kind.startswith("mappo:") else MADDPGLearner
    for name, function in BREAKAGES[kind].items():
        setattr(learner, name, function)
    if kind.startswith("mappo:"):
        config = MAPPOConfig(num_episodes=MAPPO_EPISODES, eval_interval=MAPPO_EPISODES,
                             eval_episodes=100, seed=0)
    else:
        config = MADDPGConfig(num_episodes=EPISODES, eval_interval=EPISODES, eval_episodes=100,
                              seed=0)
    (row,) = train(config, "simple_spread_v3", env_kwargs={"N": 2}, verbose=False).history
    returns = {k: round(v, 2) for k, v in row.items() if k.startswith("return/")}
    verdict = "passes" if min(returns.values()) > THRESHOLD else "fails"
    print(f"{kind}: {returns} -> the learning test {verdict} (threshold {THRESHOLD})")


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in BREAKAGES:
        sys.exit(f"usage: python tests/break_the_update.py {{{'|'.join(BREAKAGES)}}}")
    main(sys.argv[1])

"""Runs the value-based learning test's schedule with a deliberately broken update.

    python tests/break_the_value_update.py vdn none           # the correct update
    python tests/break_the_value_update.py vdn zero_reward    # every team reward set to 0
    python tests/break_the_value_update.py vdn other_action   # TD error on another action than the one taken
    python tests/break_the_value_update.py vdn ascend         # the TD loss with its sign flipped

(``qmix`` in place of ``vdn`` breaks QMIX the same way.) Prints the
evaluation return per agent; tests/test_learning.py's value-based test must
pass for ``none`` and fail for every other. Not collected by pytest (half a
minute each).
"""

import sys

import tensorflow as tf

from tf_maddpg import train
from tf_maddpg.algorithms.value_based.learner import QLearner
from test_learning import VALUE_BASED_EPISODES, VALUE_BASED_THRESHOLD, value_based_config

correct_team_rewards = QLearner.team_rewards
correct_chosen = QLearner.chosen_q_values
correct_td_losses = QLearner.td_losses


def zero_reward(self, batch):
    return [r * 0.0 for r in correct_team_rewards(self, batch)]


def other_action(self, batch):
    shifted = tuple(tf.roll(a, 1, axis=-1) for a in batch.actions)  # action k -> k + 1
    return correct_chosen(self, batch._replace(actions=shifted))


def ascend(self, batch, targets):
    return [-loss for loss in correct_td_losses(self, batch, targets)]


BREAKAGES = {"none": {}, "zero_reward": {"team_rewards": zero_reward},
             "other_action": {"chosen_q_values": other_action},
             "ascend": {"td_losses": ascend}}


def main(algo: str, kind: str) -> None:
    for name, function in BREAKAGES[kind].items():
        setattr(QLearner, name, function)
    (row,) = train(value_based_config(algo), "simple_spread_v3", env_kwargs={"N": 2},
                   verbose=False).history
    returns = {k: round(v, 2) for k, v in row.items() if k.startswith("return/")}
    verdict = "passes" if min(returns.values()) > VALUE_BASED_THRESHOLD else "fails"
    print(f"{algo} {kind}: {returns} -> the learning test {verdict} (threshold "
          f"{VALUE_BASED_THRESHOLD}, {VALUE_BASED_EPISODES} episodes)")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("vdn", "qmix") or sys.argv[2] not in BREAKAGES:
        sys.exit(f"usage: python tests/break_the_value_update.py {{vdn|qmix}} "
                 f"{{{'|'.join(BREAKAGES)}}}")
    main(sys.argv[1], sys.argv[2])

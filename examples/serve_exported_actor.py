"""Play an mpe2 episode with actors exported by tf_maddpg.export, using TensorFlow alone.

    python examples/serve_exported_actor.py EXPORT_DIR --env simple_adversary_v3 --seed 0

EXPORT_DIR holds one SavedModel per agent (EXPORT_DIR/<agent>/), as written by
``tf_maddpg.export.export_actors``. This script never imports tf_maddpg: it is
what a deployment needs, TensorFlow and the environment. Box (continuous)
actors, as listed in EXPORT_DIR/metadata.json, get the scenario built with
continuous_actions=True. Prints each agent's return.
"""

import argparse
import importlib
import json
import os
import sys

import numpy as np
import tensorflow as tf


def load_actors(export_dir, agents):
    """Agent name -> its loaded SavedModel, for every agent of the environment."""
    actors = {}
    for agent in agents:
        path = os.path.join(export_dir, agent)
        if not os.path.isdir(path):
            raise FileNotFoundError(f"no exported actor for agent {agent!r} at {path}")
        actors[agent] = tf.saved_model.load(path)
    return actors


def has_box_actions(export_dir):
    """True if metadata.json lists an agent with a Box action."""
    path = os.path.join(export_dir, "metadata.json")
    if not os.path.exists(path):
        return False
    with open(path) as f:
        return any(agent["action"] == "box" for agent in json.load(f)["agents"])


def act(actor, obs):
    """The greedy action for one observation: an int (Discrete) or a float vector (Box)."""
    action = actor.serving_default(tf.constant(obs[None], tf.float32))["action"][0]
    return int(action) if action.dtype.is_integer else action.numpy()


def play_episode(env, actors, seed):
    """One episode with every agent acting greedily; returns agent name -> return."""
    observations, _ = env.reset(seed=seed)
    returns = {agent: 0.0 for agent in env.possible_agents}
    while env.agents:
        actions = {agent: act(actors[agent], np.asarray(observations[agent]))
                   for agent in env.agents}
        observations, rewards, _, _, _ = env.step(actions)
        for agent, reward in rewards.items():
            returns[agent] += float(reward)
    return returns


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export_dir", metavar="EXPORT_DIR",
                        help="directory with one SavedModel per agent")
    parser.add_argument("--env", default="simple_adversary_v3",
                        help="mpe2 scenario module (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="reset seed (default: %(default)s)")
    parser.add_argument("--max-cycles", type=int, default=25,
                        help="steps per episode (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        scenario = importlib.import_module(f"mpe2.{args.env}")
    except ModuleNotFoundError:
        parser.error(f"unknown mpe2 scenario {args.env!r}")
    env = scenario.parallel_env(max_cycles=args.max_cycles,
                                continuous_actions=has_box_actions(args.export_dir))
    try:
        actors = load_actors(args.export_dir, env.possible_agents)
        returns = play_episode(env, actors, args.seed)
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        env.close()
    for agent, value in returns.items():
        print(f"return/{agent}: {value:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

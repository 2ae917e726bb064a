"""Play an mpe2 episode with actors exported by tf_maddpg.export, using TensorFlow alone.

    python examples/serve_exported_actor.py EXPORT_DIR --seed 0

EXPORT_DIR holds one SavedModel per agent (EXPORT_DIR/<agent>/) and a
metadata.json, as written by ``tf_maddpg.export.export_actors`` (``tf-maddpg
export RUN_DIR --out EXPORT_DIR``, or RUN_DIR/saved_model). The scenario and
its options (e.g. N=4, continuous_actions) are read from metadata.json, so
the environment is the one the actors were trained on; --env picks another
scenario for exports that do not name one. This script never imports
tf_maddpg: it is what a deployment needs, TensorFlow and the environment.
Prints each agent's return. Recurrent agents (IQL, VDN or QMIX trained with
``--agent gru``; metadata.json gives their ``hidden_state_dim``) start the
episode from a zero hidden state and get back the one each step returns.
"""

import argparse
import importlib
import json
import os
import sys
import tempfile

import numpy as np


def import_tensorflow_quietly():
    """TensorFlow without the lines it prints while it loads (oneDNN, CUDA drivers,
    cuInit): they are kept aside and shown only if the import fails; set
    TF_CPP_MIN_LOG_LEVEL=0 to see them. (``tf-maddpg`` hides them the same way.)"""
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") in ("0", "1"):
        import tensorflow

        return tensorflow
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow

            tensorflow.config.list_physical_devices("GPU")  # the device messages, now
        except Exception:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return tensorflow


tf = import_tensorflow_quietly()


def load_actors(export_dir, agents):
    """Agent name -> its loaded SavedModel, for every agent of the environment."""
    actors = {}
    for agent in agents:
        path = os.path.join(export_dir, agent)
        if not os.path.isdir(path):
            raise FileNotFoundError(f"no exported actor for agent {agent!r} at {path}")
        actors[agent] = tf.saved_model.load(path)
    return actors


def read_metadata(export_dir):
    """EXPORT_DIR/metadata.json as a dict ({} for an export without one)."""
    path = os.path.join(export_dir, "metadata.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def has_box_actions(metadata):
    """True if the metadata lists an agent with a Box action."""
    return any(agent["action"] == "box" for agent in metadata.get("agents", []))


def scenario_and_options(metadata, env=None):
    """The mpe2 scenario to build and its options: metadata.json's, unless ``env`` is given.

    Box actors need continuous_actions=True; an export without options gets
    it from the actors' action spaces.
    """
    scenario = env or metadata.get("scenario") or "simple_adversary_v3"
    options = dict(metadata.get("env_kwargs") or {}) if scenario == metadata.get("scenario") else {}
    options.setdefault("continuous_actions", has_box_actions(metadata))
    return scenario[len("mpe2."):] if scenario.startswith("mpe2.") else scenario, options


def act(actor, obs, hidden=None):
    """The greedy action for one observation, an int (Discrete) or a float vector (Box),
    and a recurrent actor's next hidden state (None for a feed-forward one, which gets
    ``hidden=None``)."""
    obs = tf.constant(obs[None], tf.float32)
    out = (actor.serving_default(obs) if hidden is None
           else actor.serving_default(obs=obs, hidden_state=hidden))
    action = out["action"][0]
    return (int(action) if action.dtype.is_integer else action.numpy()), out.get("hidden_state")


def hidden_state_sizes(metadata):
    """Agent name -> hidden state size, for the recurrent agents of metadata.json."""
    return {agent["name"]: agent["hidden_state_dim"] for agent in metadata.get("agents", [])
            if agent.get("hidden_state_dim")}


def play_episode(env, actors, seed, hidden_sizes=None):
    """One episode with every agent acting greedily; returns agent name -> return.
    ``hidden_sizes`` (``hidden_state_sizes``) names the recurrent agents: each starts
    from zeros and is fed back the hidden state it returned."""
    observations, _ = env.reset(seed=seed)
    hidden = {agent: tf.zeros([1, size]) for agent, size in (hidden_sizes or {}).items()}
    returns = {agent: 0.0 for agent in env.possible_agents}
    while env.agents:
        actions = {}
        for agent in env.agents:
            actions[agent], state = act(actors[agent], np.asarray(observations[agent]),
                                        hidden.get(agent))
            if agent in hidden:
                hidden[agent] = state
        observations, rewards, _, _, _ = env.step(actions)
        for agent, reward in rewards.items():
            returns[agent] += float(reward)
    return returns


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export_dir", metavar="EXPORT_DIR",
                        help="directory with one SavedModel per agent")
    parser.add_argument("--env", default=None,
                        help="mpe2 scenario module (default: metadata.json's scenario, with "
                             "its options; else simple_adversary_v3)")
    parser.add_argument("--seed", type=int, default=0, help="reset seed (default: %(default)s)")
    parser.add_argument("--max-cycles", type=int, default=25,
                        help="steps per episode (default: %(default)s)")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.export_dir):
        parser.error(f"{args.export_dir} is not a folder of exported actors")
    metadata = read_metadata(args.export_dir)
    name, options = scenario_and_options(metadata, args.env)
    try:
        scenario = importlib.import_module(f"mpe2.{name}")
    except ModuleNotFoundError:
        parser.error(f"unknown mpe2 scenario {name!r}")
    env = scenario.parallel_env(max_cycles=args.max_cycles, **options)
    try:
        actors = load_actors(args.export_dir, env.possible_agents)
        returns = play_episode(env, actors, args.seed, hidden_state_sizes(metadata))
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

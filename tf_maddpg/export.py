"""Exporting trained actors as TensorFlow SavedModels that need no tf_maddpg to run.

Each agent's actor becomes ``<out_dir>/<agent>/``, a SavedModel whose
``serving_default`` signature maps ``obs`` [B, obs_dim] float32 to a dict:

* Discrete: ``action`` int64 [B] (the argmax of the logits, the greedy
  action) and ``logits`` float32 [B, action_dim].
* Box: ``action`` float32 [B, action_dim] (the actor's output, already
  within the bounds).

**Recurrent agents** (IQL, VDN, QMIX with ``agent='gru'``): the signature
takes two inputs, ``obs`` [B, obs_dim] and ``hidden_state`` [B,
hidden_state_dim] float32, and returns ``action`` and ``logits`` (the
Q-values) as above and ``hidden_state``, the next one. The caller keeps one
hidden state per environment: zeros at the start of every episode, then the
returned ``hidden_state`` fed back at the next step (metadata.json gives the
agent's ``hidden_state_dim``; it is absent for feed-forward agents)::

    h = tf.zeros([1, meta["hidden_state_dim"]])  # a new episode
    out = actor.serving_default(obs=tf.constant([obs], tf.float32), hidden_state=h)
    action, h = out["action"][0], out["hidden_state"]

``<out_dir>/metadata.json`` lists the agents in order with their sizes and
action spaces, and the scenario with its options (``env_kwargs``), so that
``examples/serve_exported_actor.py`` builds the environment they were trained on.
Loading needs TensorFlow only::

    import tensorflow as tf
    actor = tf.saved_model.load("exported/agent_0")
    action = actor.serving_default(tf.constant([obs], tf.float32))["action"][0]
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from tf_maddpg.envs.specs import AgentSpec
from tf_maddpg.networks.recurrent import hidden_size, io_sizes, is_recurrent

METADATA_FILE = "metadata.json"
FORMAT = "tf_maddpg.exported_actors/1"
"""The ``format`` field of metadata.json; bumped when the layout changes."""


def export_actors(actors: Sequence[keras.Model], specs: Sequence[AgentSpec],
                  out_dir: str | os.PathLike, scenario: str | None = None,
                  env_kwargs: dict | None = None) -> list[str]:
    """Writes one SavedModel per agent to ``<out_dir>/<agent>/`` and a metadata.json.

    The SavedModels hold the actors' weights and a traced forward pass, so
    ``tf.saved_model.load`` restores them without tf_maddpg or Keras custom
    objects (the Box actor's ``ScaleToBounds`` is traced into plain TF ops).

    Args:
      actors: one Keras actor per agent, as built by ``make_actor``.
      specs: one ``AgentSpec`` per agent, in the same order.
      out_dir: the directory to write; created if missing, existing agent
        directories are overwritten.
      scenario: recorded in metadata.json if given (e.g. ``"simple_adversary_v3"``).
      env_kwargs: the scenario's options (e.g. ``{"N": 4}``), recorded in
        metadata.json beside ``scenario``; they must be JSON values.

    Returns:
      The SavedModel directories, in agent order.

    Raises:
      ValueError: ``actors`` and ``specs`` differ in length, an actor's input or
        output size does not match its spec, an agent name is not usable as
        a directory name, ``env_kwargs`` is not JSON, or ``out_dir`` is a file.
    """
    env_kwargs = dict(env_kwargs or {})
    try:
        json.dumps(env_kwargs)
    except (TypeError, ValueError) as error:
        raise ValueError(f"env_kwargs must be JSON values to be recorded in {METADATA_FILE}: "
                         f"{error}") from None
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(f"{os.fspath(out_dir)} is a file; export_actors writes a folder "
                         "(one SavedModel per agent): choose a folder name")
    if len(actors) != len(specs):
        raise ValueError(f"export_actors needs one actor per spec, got {len(actors)} actors "
                         f"for {len(specs)} specs")
    for actor, spec in zip(actors, specs):
        _check_actor(actor, spec)
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for actor, spec in zip(actors, specs):
        path = os.path.join(out_dir, spec.name)
        _export_actor(actor, spec, path)
        paths.append(path)
    metadata = {"format": FORMAT, "scenario": scenario, "env_kwargs": env_kwargs,
                "signature": "serving_default",
                "agents": [_agent_metadata(spec, actor) for spec, actor in zip(specs, actors)]}
    if any(is_recurrent(a) for a in actors):
        metadata["hidden_state"] = (
            "recurrent agents: serving_default takes obs and hidden_state and returns the "
            "next hidden_state; start every episode with zeros [B, hidden_state_dim] and feed "
            "the returned hidden_state back at the next step")
    with open(os.path.join(out_dir, METADATA_FILE), "w") as f:
        json.dump(metadata, f, indent=2)
    return paths


def load_exported(directory: str | os.PathLike) -> dict[str, Any]:
    """Loads every SavedModel written by ``export_actors``: agent name -> loaded object.

    The dict is in agent order (metadata.json's); call
    ``loaded[name].serving_default(obs)`` to act.

    Raises:
      FileNotFoundError: ``directory`` has no metadata.json.
    """
    metadata_path = os.path.join(directory, METADATA_FILE)
    if not os.path.exists(metadata_path):
        raise FileNotFoundError(f"{metadata_path} not found: is {directory} the out_dir "
                                "of export_actors?")
    with open(metadata_path) as f:
        agents = [agent["name"] for agent in json.load(f)["agents"]]
    return {name: tf.saved_model.load(os.path.join(directory, name)) for name in agents}


def _export_actor(actor: keras.Model, spec: AgentSpec, path: str) -> None:
    archive = keras.export.ExportArchive()
    archive.track(actor)
    obs_spec = tf.TensorSpec([None, spec.obs_dim], tf.float32, name="obs")
    if is_recurrent(actor):
        def serve_recurrent(obs, hidden_state):
            q, next_hidden = actor([obs, hidden_state], training=False)
            return {"action": tf.argmax(q, axis=-1, output_type=tf.int64), "logits": q,
                    "hidden_state": next_hidden}

        archive.add_endpoint("serving_default", serve_recurrent, input_signature=[
            obs_spec, tf.TensorSpec([None, hidden_size(actor)], tf.float32,
                                    name="hidden_state")])
        archive.write_out(path, verbose=False)
        return

    def serve(obs):
        out = actor(obs, training=False)  # [B, A]: logits, or the action in the bounds
        if spec.discrete:
            return {"action": tf.argmax(out, axis=-1, output_type=tf.int64), "logits": out}
        return {"action": out}

    archive.add_endpoint("serving_default", serve, input_signature=[obs_spec])
    archive.write_out(path, verbose=False)


def _check_actor(actor: keras.Model, spec: AgentSpec) -> None:
    name = spec.name
    if not name or name in (".", "..") or os.sep in name or (os.altsep and os.altsep in name):
        raise ValueError(f"agent name {name!r} cannot be a directory name; rename the agent")
    sizes = io_sizes(actor)
    if sizes != (spec.obs_dim, spec.action_dim):
        raise ValueError(f"actor {actor.name!r} maps {sizes[0]} -> {sizes[1]}, but agent "
                         f"{name!r} needs {spec.obs_dim} -> {spec.action_dim}; pass the "
                         "actors and specs in the same order")


def _agent_metadata(spec: AgentSpec, actor: keras.Model) -> dict[str, Any]:
    metadata = {"name": spec.name, "obs_dim": spec.obs_dim, "action_dim": spec.action_dim,
                "action": "discrete" if spec.discrete else "box",
                "low": list(spec.low) if spec.low is not None else None,
                "high": list(spec.high) if spec.high is not None else None}
    if is_recurrent(actor):
        metadata["hidden_state_dim"] = hidden_size(actor)
    return metadata

"""Acting: every agent's action from its own observation, in one compiled call."""

from __future__ import annotations

import os
from typing import List, Sequence

import keras
import numpy as np
import tensorflow as tf

from tf_maddpg.distributions import epsilon_onehot, gumbel_softmax_sample
from tf_maddpg.specs import AgentSpec


class MultiAgentPolicy:
    """The decentralised policy: agent i's action depends on its observation only.

    Args:
      specs: one ``AgentSpec`` per agent.
      actors: one Keras actor per agent (shared with the learner, so the
        policy always acts with the latest weights).
      gumbel_temperature, epsilon: the exploration of Discrete agents: a hard
        Gumbel-softmax sample whose rows are replaced by a random action with
        probability epsilon (the reference's exploration).
      exploration_noise: Box agents: Gaussian noise with this std times half
        the width of the space, then clipped to the bounds.
      seed: seeds the exploration noise.
    """

    def __init__(self, specs: Sequence[AgentSpec], actors: Sequence[keras.Model],
                 gumbel_temperature: float = 1.0, epsilon: float = 0.01,
                 exploration_noise: float = 0.1, seed: int = 0):
        self.specs = tuple(specs)
        self.actors = list(actors)
        self.gumbel_temperature = gumbel_temperature
        self.epsilon = epsilon
        self.exploration_noise = exploration_noise
        self.generator = tf.random.Generator.from_seed(seed)
        signature = [tuple(tf.TensorSpec([None, s.obs_dim], tf.float32) for s in self.specs)]
        self._explore = tf.function(lambda obs: self._actions(obs, True),
                                    input_signature=signature)
        self._greedy = tf.function(lambda obs: self._actions(obs, False),
                                   input_signature=signature)

    def act(self, obs: Sequence[np.ndarray], explore: bool = False) -> List[np.ndarray]:
        """Every agent's action.

        Args:
          obs: one observation per agent, each [obs_dim] (one environment) or
            [B, obs_dim] (B environments).
          explore: sample exploring actions instead of greedy ones.

        Returns:
          One array per agent: a one-hot vector (Discrete) or the action
          (Box), with the same leading batch dimension as ``obs``.
        """
        single = np.ndim(obs[0]) == 1
        batch = tuple(np.asarray(o, np.float32)[None] if single else np.asarray(o, np.float32)
                      for o in obs)
        actions = (self._explore if explore else self._greedy)(batch)
        return [a.numpy()[0] if single else a.numpy() for a in actions]

    def _actions(self, obs, explore: bool):
        actions = []
        for spec, actor, o in zip(self.specs, self.actors, obs):
            out = actor(o)  # [B, A]: logits, or the action in the bounds
            rows = tf.shape(o)[0]
            if spec.discrete and not explore:
                action = tf.one_hot(tf.argmax(out, axis=-1), spec.action_dim)
            elif spec.discrete:
                g = self.generator
                soft = gumbel_softmax_sample(out, g.uniform([rows, spec.action_dim]),
                                             self.gumbel_temperature)
                action = epsilon_onehot(
                    soft, g.uniform([rows]),
                    g.uniform([rows], 0, spec.action_dim, dtype=tf.int32), self.epsilon)
            elif explore and self.exploration_noise > 0:
                low = tf.constant(spec.low, tf.float32)
                high = tf.constant(spec.high, tf.float32)
                scale = self.exploration_noise * 0.5 * (high - low)
                noise = self.generator.normal([rows, spec.action_dim]) * scale
                action = tf.clip_by_value(out + noise, low, high)
            else:
                action = out
            actions.append(action)
        return tuple(actions)


def save_actors(actors: Sequence[keras.Model], specs: Sequence[AgentSpec],
                directory: str | os.PathLike) -> List[str]:
    """Saves each actor as ``<directory>/<agent>.keras``; returns the paths."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    for actor, spec in zip(actors, specs):
        path = os.path.join(directory, f"{spec.name}.keras")
        actor.save(path)
        paths.append(path)
    return paths


def load_actors(specs: Sequence[AgentSpec], directory: str | os.PathLike) -> List[keras.Model]:
    """Loads the actors written by ``save_actors``.

    Raises:
      FileNotFoundError: an agent's file is missing.
      ValueError: an actor's input or output size does not match its spec.
    """
    actors = []
    for spec in specs:
        path = os.path.join(directory, f"{spec.name}.keras")
        if not os.path.exists(path):
            raise FileNotFoundError(f"no saved actor for agent {spec.name!r} at {path}")
        actor = keras.models.load_model(path)
        if (actor.input_shape[-1], actor.output_shape[-1]) != (spec.obs_dim, spec.action_dim):
            raise ValueError(
                f"{path}: actor maps {actor.input_shape[-1]} -> {actor.output_shape[-1]}, but "
                f"agent {spec.name!r} needs {spec.obs_dim} -> {spec.action_dim}")
        actors.append(actor)
    return actors

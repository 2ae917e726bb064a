"""Acting: every agent's action from its own observation, for one or many environments.

The actors are small MLPs, and the training loop asks for actions at every
env step. A compiled TensorFlow call costs several hundred microseconds
whatever it computes, more than an mpe2 step, so by default the policy runs
the actors' forward pass as NumPy matrix products on a copy of their weights
(``backend="numpy"``; ``sync`` refreshes the copy after the weights change).
``backend="graph"`` runs every agent's actor, for every environment, in one
compiled call instead; it serves actors that are not plain Dense stacks.
Either way the exploration noise is drawn in NumPy from ``MultiAgentPolicy.rng``,
so both backends give the same actions for the same generator state.

Actions travel packed: [B, sum(obs_dims)] in, [B, sum(action_dims)] out, every
agent's columns in the adapter's order (one-hot for Discrete agents).
"""

from __future__ import annotations

import os
from typing import List, Sequence

import keras
import numpy as np
import tensorflow as tf

from tf_maddpg.networks import ScaleToBounds
from tf_maddpg.specs import AgentSpec

BACKENDS = ("auto", "numpy", "graph")
_TINY = np.float32(1e-20)  # as tf_maddpg.distributions


class NumpyActor:
    """A Keras actor made of Dense layers (ReLU or linear), run as NumPy matrix products.

    Args:
      actor: the Keras actor; its layers must be Dense (ReLU or no
        activation), Identity, or ``ScaleToBounds``.

    Raises:
      ValueError: the actor has another kind of layer.
    """

    def __init__(self, actor: keras.Model):
        self.actor = actor
        self._steps = []  # ("dense", layer, relu) | ("bounds", low, half_width)
        for layer in actor.layers:
            if isinstance(layer, keras.layers.InputLayer | keras.layers.Identity):
                continue
            if isinstance(layer, keras.layers.Dense) and layer.activation in (
                    keras.activations.relu, keras.activations.linear):
                self._steps.append(("dense", layer, layer.activation is keras.activations.relu))
            elif isinstance(layer, ScaleToBounds):
                low, high = np.float32(layer.low), np.float32(layer.high)
                self._steps.append(("bounds", low, np.float32(0.5) * (high - low)))
            else:
                raise ValueError(f"actor {actor.name!r}: layer {layer.name!r} "
                                 f"({type(layer).__name__}) has no NumPy forward pass; "
                                 "use MultiAgentPolicy(backend='graph')")
        self._weights = []
        self.sync()

    def sync(self) -> None:
        """Copies the actor's current weights."""
        self._weights = [(np.asarray(step[1].kernel.numpy()), np.asarray(step[1].bias.numpy()))
                         if step[0] == "dense" else None for step in self._steps]

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """obs [B, obs_dim] float32 -> the actor's output [B, action_dim]."""
        x = obs
        for step, weights in zip(self._steps, self._weights):
            if step[0] == "dense":
                x = x @ weights[0] + weights[1]
                if step[2]:
                    np.maximum(x, 0.0, out=x)
            else:
                x = step[1] + (np.tanh(x) + np.float32(1.0)) * step[2]
        return x


class MultiAgentPolicy:
    """The decentralised policy: agent i's action depends on its observation only.

    Args:
      specs: one ``AgentSpec`` per agent.
      actors: one Keras actor per agent (shared with the learner; call
        ``sync`` after their weights change when the backend is NumPy).
      gumbel_temperature, epsilon: the exploration of Discrete agents: a hard
        Gumbel-softmax sample whose rows are replaced by a random action with
        probability epsilon (the reference's exploration).
      exploration_noise: Box agents: Gaussian noise with this std times half
        the width of the space, then clipped to the bounds.
      seed: seeds ``rng``, the exploration noise's generator.
      backend: "numpy", "graph", or "auto" (NumPy when every actor is a plain
        Dense stack, else the graph).

    Attributes:
      rng: the NumPy generator of the exploration noise (checkpoints keep its state).
      backend: the backend in use, "numpy" or "graph".
    """

    def __init__(self, specs: Sequence[AgentSpec], actors: Sequence[keras.Model],
                 gumbel_temperature: float = 1.0, epsilon: float = 0.01,
                 exploration_noise: float = 0.1, seed: int = 0, backend: str = "auto"):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.specs = tuple(specs)
        self.actors = list(actors)
        self.gumbel_temperature = gumbel_temperature
        self.epsilon = epsilon
        self.exploration_noise = exploration_noise
        self.rng = np.random.default_rng(seed)
        self._obs_split = np.cumsum([s.obs_dim for s in self.specs])[:-1]
        self._action_split = np.cumsum([s.action_dim for s in self.specs])[:-1]
        self._numpy_actors = None
        if backend in ("auto", "numpy"):
            try:
                self._numpy_actors = [NumpyActor(a) for a in self.actors]
            except ValueError:
                if backend == "numpy":
                    raise
        self.backend = "numpy" if self._numpy_actors is not None else "graph"
        obs_width = sum(s.obs_dim for s in self.specs)
        self._graph_outputs = tf.function(
            self._outputs, input_signature=[tf.TensorSpec([None, obs_width], tf.float32)])

    def sync(self) -> None:
        """Re-reads the actors' weights (NumPy backend; the graph reads them live)."""
        for actor in self._numpy_actors or ():
            actor.sync()

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
        parts = [np.asarray(o, np.float32) for o in obs]
        packed = np.concatenate([p[None] if single else p for p in parts], axis=-1)
        actions = np.split(self.act_packed(packed, explore), self._action_split, axis=-1)
        return [a[0] for a in actions] if single else actions

    def act_packed(self, obs: np.ndarray, explore: bool = False) -> np.ndarray:
        """Packed observations [B, sum(obs_dims)] -> packed actions [B, sum(action_dims)]."""
        obs = np.asarray(obs, np.float32)
        outputs = self.outputs_packed(obs)
        if not explore and all(not s.discrete for s in self.specs):
            return outputs
        actions = np.empty_like(outputs)
        start = 0
        for spec in self.specs:
            cols = slice(start, start + spec.action_dim)
            actions[:, cols] = self._action(spec, outputs[:, cols], explore)
            start += spec.action_dim
        return actions

    def outputs_packed(self, obs: np.ndarray) -> np.ndarray:
        """Every actor's raw output (logits, or the Box action) for packed observations."""
        if self._numpy_actors is None:
            return self._graph_outputs(obs).numpy()
        parts = np.split(obs, self._obs_split, axis=-1)
        return np.concatenate([actor(o) for actor, o in zip(self._numpy_actors, parts)], axis=-1)

    def _outputs(self, obs):
        parts = tf.split(obs, [s.obs_dim for s in self.specs], axis=-1)
        return tf.concat([actor(o) for actor, o in zip(self.actors, parts)], axis=-1)

    def _action(self, spec: AgentSpec, out: np.ndarray, explore: bool) -> np.ndarray:
        rows = out.shape[0]
        if not spec.discrete:
            if not explore or self.exploration_noise <= 0:
                return out
            low, high = np.float32(spec.low), np.float32(spec.high)
            scale = np.float32(self.exploration_noise * 0.5) * (high - low)
            noise = self.rng.standard_normal((rows, spec.action_dim), np.float32) * scale
            return np.clip(out + noise, low, high)
        if explore:
            # The hard Gumbel-softmax sample: argmax(softmax((out + g) / T)) = argmax(out + g).
            uniform = self.rng.random((rows, spec.action_dim), np.float32)
            out = out - np.log(-np.log(uniform + _TINY) + _TINY)
        index = np.argmax(out, axis=-1)
        if explore and self.epsilon > 0:
            random = self.rng.random(rows, np.float32) <= self.epsilon
            index = np.where(random, self.rng.integers(0, spec.action_dim, rows), index)
        onehot = np.zeros_like(out)
        onehot[np.arange(rows), index] = 1.0
        return onehot


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

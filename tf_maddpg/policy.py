"""Acting: every agent's action from its own observation, for one or many environments.

The actors are small MLPs, and the training loop asks for actions at every
env step. A compiled TensorFlow call costs several hundred microseconds
whatever it computes, more than an mpe2 step, so by default the policy runs
the actors' forward pass as NumPy matrix products on a copy of their weights,
every agent's layer k in one block-diagonal product (``backend="numpy"``;
``sync`` refreshes the copy after the weights change).
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


def _dense_chain(actor: keras.Model):
    """An actor as a list of Dense layers and ReLU flags, plus its ScaleToBounds (or None).

    Raises:
      ValueError: the actor has a layer other than Dense (ReLU or linear),
        Identity or a final ``ScaleToBounds``.
    """
    dense, bounds = [], None
    for layer in actor.layers:
        if isinstance(layer, keras.layers.InputLayer | keras.layers.Identity):
            continue
        if (bounds is None and isinstance(layer, keras.layers.Dense)
                and layer.activation in (keras.activations.relu, keras.activations.linear)):
            dense.append((layer, layer.activation is keras.activations.relu))
        elif bounds is None and isinstance(layer, ScaleToBounds):
            bounds = layer
        else:
            raise ValueError(f"actor {actor.name!r}: layer {layer.name!r} "
                             f"({type(layer).__name__}) has no NumPy forward pass; "
                             "use MultiAgentPolicy(backend='graph')")
    if not dense:
        raise ValueError(f"actor {actor.name!r} has no Dense layer to run in NumPy")
    return dense, bounds


class NumpyActors:
    """Every agent's actor as one chain of NumPy matrix products.

    Layer k of the chain holds every agent's layer k on the diagonal of one
    block matrix, so a single product computes that layer for all agents:
    for one environment, three products instead of three per agent. The
    zero blocks add exact zeros, so each agent's output is its own actor's.
    Agents whose actors differ in depth or activations get chains of their own.

    Args:
      actors: the Keras actors, in agent order; each made of Dense layers
        (ReLU or linear), Identity layers and at most a final ``ScaleToBounds``.

    Raises:
      ValueError: an actor has another kind of layer.
    """

    def __init__(self, actors: Sequence[keras.Model]):
        chains = [_dense_chain(a) for a in actors]
        in_sizes = [chain[0][0][0].kernel.shape[0] for chain in chains]
        out_sizes = [chain[0][-1][0].units for chain in chains]
        in_starts = np.cumsum([0] + in_sizes)
        out_starts = np.cumsum([0] + out_sizes)
        groups = {}  # agents with the same depth and activations share a chain
        for i, (dense, _) in enumerate(chains):
            groups.setdefault(tuple(relu for _, relu in dense), []).append(i)
        self._groups = []
        for relus, members in groups.items():
            layers = []
            for k, relu in enumerate(relus):
                parts = [chains[i][0][k][0] for i in members]
                rows = np.cumsum([0] + [p.kernel.shape[0] for p in parts])
                cols = np.cumsum([0] + [p.units for p in parts])
                layers.append(dict(
                    parts=parts, relu=relu,
                    kernel=np.zeros((rows[-1], cols[-1]), np.float32),
                    bias=np.zeros(cols[-1], np.float32),
                    blocks=[(slice(r0, r1), slice(c0, c1)) for r0, r1, c0, c1
                            in zip(rows[:-1], rows[1:], cols[:-1], cols[1:])]))
            obs_cols = np.concatenate([np.arange(in_starts[i], in_starts[i + 1]) for i in members])
            out_cols = np.concatenate([np.arange(out_starts[i], out_starts[i + 1]) for i in members])
            contiguous = np.array_equal(obs_cols, np.arange(in_starts[-1]))
            self._groups.append(dict(layers=layers, obs_cols=None if contiguous else obs_cols,
                                     out_cols=out_cols))
        self._single = len(self._groups) == 1 and self._groups[0]["obs_cols"] is None
        self._width = int(out_starts[-1])
        # tanh scaled to the bounds, for the columns of Box actors.
        box = [(np.arange(out_starts[i], out_starts[i + 1]), b) for i, (_, b) in
               enumerate(chains) if b is not None]
        self._box_cols = np.concatenate([c for c, _ in box]) if box else None
        if box:
            low = np.concatenate([np.float32(b.low) for _, b in box]).astype(np.float32)
            high = np.concatenate([np.float32(b.high) for _, b in box]).astype(np.float32)
            self._box_low, self._box_half = low, np.float32(0.5) * (high - low)
        # Every kernel and bias in one flat vector, read in one call (18 reads cost 3 times more).
        self._variables = [v for group in self._groups for layer in group["layers"]
                           for part in layer["parts"] for v in (part.kernel, part.bias)]
        self._read = tf.function(
            lambda: tf.concat([tf.reshape(v, [-1]) for v in self._variables], axis=0),
            input_signature=[], autograph=False)
        self.sync()

    def sync(self) -> None:
        """Copies the actors' current weights into the block matrices."""
        self.set_flat(self._read().numpy())

    def flat(self) -> np.ndarray:
        """The weights the chain computes with, as one vector (every kernel and bias in turn)."""
        parts = []
        for layer in self._layers():
            for rows, cols in layer["blocks"]:
                parts += [layer["kernel"][rows, cols].reshape(-1), layer["bias"][cols]]
        return np.concatenate(parts)

    def set_flat(self, flat: np.ndarray) -> None:
        """Loads weights laid out as ``flat`` gives them."""
        start = 0
        for layer in self._layers():
            for rows, cols in layer["blocks"]:
                shape = layer["kernel"][rows, cols].shape
                size = shape[0] * shape[1]
                layer["kernel"][rows, cols] = flat[start: start + size].reshape(shape)
                layer["bias"][cols] = flat[start + size: start + size + shape[1]]
                start += size + shape[1]
        if start != flat.size:
            raise ValueError(f"{flat.size} weights given, the actors have {start}")

    def _layers(self):
        return [layer for group in self._groups for layer in group["layers"]]

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Packed observations [B, sum(obs_dims)] -> every actor's output [B, sum(action_dims)]."""
        if self._single:
            out = self._chain(self._groups[0], obs)
        else:
            out = np.empty((obs.shape[0], self._width), np.float32)
            for group in self._groups:
                x = obs if group["obs_cols"] is None else obs[:, group["obs_cols"]]
                out[:, group["out_cols"]] = self._chain(group, x)
        if self._box_cols is not None:
            out[:, self._box_cols] = self._box_low + (
                np.tanh(out[:, self._box_cols]) + np.float32(1.0)) * self._box_half
        return out

    @staticmethod
    def _chain(group, x):
        for layer in group["layers"]:
            x = x @ layer["kernel"]
            x += layer["bias"]
            if layer["relu"]:
                np.maximum(x, 0.0, out=x)
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
        self._action_split = np.cumsum([s.action_dim for s in self.specs])[:-1]
        self._numpy_actors = None
        if backend in ("auto", "numpy"):
            try:
                self._numpy_actors = NumpyActors(self.actors)
            except ValueError:
                if backend == "numpy":
                    raise
        self.backend = "numpy" if self._numpy_actors is not None else "graph"
        obs_width = sum(s.obs_dim for s in self.specs)
        self._graph_outputs = tf.function(
            self._outputs, input_signature=[tf.TensorSpec([None, obs_width], tf.float32)])
        self._exploration = _Exploration(self.specs)

    def sync(self) -> None:
        """Re-reads the actors' weights (NumPy backend; the graph reads them live)."""
        if self._numpy_actors is not None:
            self._numpy_actors.sync()

    def snapshot(self) -> np.ndarray:
        """The weights the policy acts with, as one vector (for checkpoints).

        With the NumPy backend these are the copy made by the last ``sync``,
        which may be older than the actors' own weights.
        """
        if self._numpy_actors is None:
            return np.concatenate([np.reshape(v.numpy(), -1) for a in self.actors
                                   for v in a.trainable_variables])
        return self._numpy_actors.flat()

    def restore(self, weights: np.ndarray) -> None:
        """Acts with ``weights`` from ``snapshot`` until the next ``sync`` (NumPy backend).

        Raises:
          ValueError: the backend is "graph" (it acts with the actors' own
            weights), or ``weights`` has the wrong size.
        """
        if self._numpy_actors is None:
            raise ValueError("a policy with backend='graph' acts with its actors' weights; "
                             "restore them into the actors instead")
        self._numpy_actors.set_flat(np.asarray(weights, np.float32))

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
        outputs = self.outputs_packed(np.asarray(obs, np.float32))
        return self._exploration(outputs, explore, self)

    def outputs_packed(self, obs: np.ndarray) -> np.ndarray:
        """Every actor's raw output (logits, or the Box action) for packed observations."""
        if self._numpy_actors is None:
            return self._graph_outputs(obs).numpy()
        return self._numpy_actors(obs)

    def _outputs(self, obs):
        parts = tf.split(obs, [s.obs_dim for s in self.specs], axis=-1)
        return tf.concat([actor(o) for actor, o in zip(self.actors, parts)], axis=-1)


class _Exploration:
    """Actions from the actors' packed outputs, every agent's noise drawn in one go.

    Discrete agents: the one-hot argmax of the logits, plus Gumbel noise when
    exploring (the hard Gumbel-softmax sample: the argmax of
    softmax((logits + g) / T) is the argmax of logits + g), each row then
    replaced by a uniformly random action with probability epsilon. Box
    agents: the actor's action, plus Gaussian noise of std
    ``exploration_noise`` times half the width when exploring, clipped.
    """

    def __init__(self, specs: Sequence[AgentSpec]):
        starts = np.cumsum([0] + [s.action_dim for s in specs])
        self.width = int(starts[-1])
        discrete = [i for i, s in enumerate(specs) if s.discrete]
        box = [i for i, s in enumerate(specs) if not s.discrete]
        self.num_discrete = len(discrete)
        if discrete:
            sizes = np.array([specs[i].action_dim for i in discrete])
            self.sizes = sizes
            self.offsets = starts[discrete]  # [D]
            # gather[d, a]: the column of agent d's action a; the padding column holds -inf.
            self.gather = np.full((len(discrete), sizes.max()), self.width)
            for d, i in enumerate(discrete):
                self.gather[d, :sizes[d]] = np.arange(starts[i], starts[i + 1])
            self.discrete_cols = np.concatenate([np.arange(starts[i], starts[i + 1])
                                                 for i in discrete])
        self.box_cols = None
        if box:
            self.box_cols = np.concatenate([np.arange(starts[i], starts[i + 1]) for i in box])
            self.low = np.concatenate([np.float32(specs[i].low) for i in box]).astype(np.float32)
            self.high = np.concatenate([np.float32(specs[i].high) for i in box]).astype(np.float32)
            self.half = np.float32(0.5) * (self.high - self.low)

    def __call__(self, outputs: np.ndarray, explore: bool, policy) -> np.ndarray:
        rows = outputs.shape[0]
        rng = policy.rng
        if self.num_discrete == 0 and not explore:
            return outputs
        actions = outputs.copy()
        if self.num_discrete:
            scores = np.empty((rows, self.width + 1), np.float32)
            scores[:, :self.width] = outputs
            scores[:, self.width] = -np.inf
            if explore:
                uniform = rng.random((rows, self.width), np.float32)
                scores[:, :self.width] -= np.log(-np.log(uniform + _TINY) + _TINY)
            index = scores[:, self.gather].argmax(axis=-1)  # [B, D]
            if explore and policy.epsilon > 0:
                explores = rng.random((rows, self.num_discrete), np.float32) <= policy.epsilon
                if explores.any():  # the random actions are drawn only when needed
                    index = np.where(explores,
                                     rng.integers(0, self.sizes, (rows, self.num_discrete)), index)
            actions[:, self.discrete_cols] = 0.0
            actions[np.arange(rows)[:, None], self.offsets + index] = 1.0
        if explore and self.box_cols is not None and policy.exploration_noise > 0:
            noise = rng.standard_normal((rows, self.box_cols.size), np.float32)
            noise *= np.float32(policy.exploration_noise) * self.half
            actions[:, self.box_cols] = np.clip(outputs[:, self.box_cols] + noise,
                                                self.low, self.high)
        return actions


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

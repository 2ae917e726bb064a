"""Actors run as NumPy matrix products: every agent's layer k in one block-diagonal product.

A compiled TensorFlow call costs several hundred microseconds whatever it
computes, more than an mpe2 step, and the training loop asks for actions at
every env step. ``NumpyActors`` runs the actors' forward pass in NumPy on a
copy of their weights instead (``sync`` refreshes the copy after the weights
change).
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from tf_maddpg.envs.specs import column_slices
from tf_maddpg.networks.distributions import squash_to_bounds
from tf_maddpg.networks.mlp import ScaleToBounds
from tf_maddpg.networks.stochastic import AppendAgentId


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


PER_AGENT_ROWS = 128
"""From this many rows on, each agent's actor runs on its own (fewer multiply-adds);
below, one block-diagonal product per layer (fewer calls)."""


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
        in_cols = [np.arange(c.start, c.stop) for c in column_slices(in_sizes)]
        out_cols_of = [np.arange(c.start, c.stop) for c in column_slices(out_sizes)]
        groups = {}  # agents with the same depth and activations share a chain
        for i, (dense, _) in enumerate(chains):
            groups.setdefault(tuple(relu for _, relu in dense), []).append(i)
        self._groups = []
        for relus, members in groups.items():
            layers = []
            for k, relu in enumerate(relus):
                parts = [chains[i][0][k][0] for i in members]
                rows = column_slices([p.kernel.shape[0] for p in parts])
                cols = column_slices([p.units for p in parts])
                layers.append(dict(
                    parts=parts, relu=relu,
                    kernel=np.zeros((rows[-1].stop, cols[-1].stop), np.float32),
                    bias=np.zeros(cols[-1].stop, np.float32),
                    blocks=list(zip(rows, cols))))
            obs_cols = np.concatenate([in_cols[i] for i in members])
            out_cols = np.concatenate([out_cols_of[i] for i in members])
            contiguous = np.array_equal(obs_cols, np.arange(sum(in_sizes)))
            self._groups.append(dict(layers=layers, obs_cols=None if contiguous else obs_cols,
                                     out_cols=out_cols, members=members))
        self._single = len(self._groups) == 1 and self._groups[0]["obs_cols"] is None
        # For large batches, each agent's own chain: the block-diagonal product costs N
        # times the multiply-adds of N separate ones, which only pays below ~100 rows.
        self._agents = [(in_slice, out_slice, [], [relu for _, relu in dense])
                        for in_slice, out_slice, (dense, _) in zip(
                            column_slices(in_sizes), column_slices(out_sizes), chains)]
        self._width = int(sum(out_sizes))
        # tanh scaled to the bounds, for the columns of Box actors.
        box = [(out_cols_of[i], b) for i, (_, b) in enumerate(chains) if b is not None]
        self._box_cols = np.concatenate([c for c, _ in box]) if box else None
        if box:
            low = np.concatenate([np.float32(b.low) for _, b in box]).astype(np.float32)
            high = np.concatenate([np.float32(b.high) for _, b in box]).astype(np.float32)
            self._box_low, self._box_high = low, high
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
        self._copy_agent_weights()

    def _copy_agent_weights(self) -> None:
        """Each agent's kernels and biases as contiguous arrays (the per-agent path's)."""
        for _, _, layers, _ in self._agents:
            layers.clear()
        for group in self._groups:
            for layer in group["layers"]:
                for i, (rows, cols) in zip(group["members"], layer["blocks"]):
                    self._agents[i][2].append((np.ascontiguousarray(layer["kernel"][rows, cols]),
                                               layer["bias"][cols].copy()))

    def _layers(self):
        return [layer for group in self._groups for layer in group["layers"]]

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Packed observations [B, sum(obs_dims)] -> every actor's output [B, sum(action_dims)]."""
        if obs.shape[0] >= PER_AGENT_ROWS and len(self._agents) > 1:
            out = np.empty((obs.shape[0], self._width), np.float32)
            for in_slice, out_slice, layers, relus in self._agents:
                x = obs[:, in_slice]
                for (kernel, bias), relu in zip(layers, relus):
                    x = x @ kernel
                    x += bias
                    if relu:
                        np.maximum(x, 0.0, out=x)
                out[:, out_slice] = x
        elif self._single:
            out = self._chain(self._groups[0], obs)
        else:
            out = np.empty((obs.shape[0], self._width), np.float32)
            for group in self._groups:
                x = obs if group["obs_cols"] is None else obs[:, group["obs_cols"]]
                out[:, group["out_cols"]] = self._chain(group, x)
        if self._box_cols is not None:
            out[:, self._box_cols] = squash_to_bounds(out[:, self._box_cols], self._box_low,
                                                      self._box_high)
        return out

    @staticmethod
    def _chain(group, x):
        for layer in group["layers"]:
            x = x @ layer["kernel"]
            x += layer["bias"]
            if layer["relu"]:
                np.maximum(x, 0.0, out=x)
        return x


class NumpyModel:
    """One Keras model's forward pass in NumPy, layer by layer, on a copy of its weights.

    For the on-policy actors (``tf_maddpg.networks.stochastic``): agent-id
    appending, LayerNorm, Dense (ReLU, tanh or linear) and Identity layers, up to
    the layer named ``stop``, whose input is the output (``"preactivation"``: a
    Box actor's unclipped Gaussian mean). ``sync`` refreshes the copy after the
    weights change.

    Attributes:
      agent_index: the agent id the model appends (None: it appends none).
      variables: the weights it computes with, in order (models that share them
        can share one ``NumpyModel``: see ``__call__``'s ``agent_ids``).

    Raises:
      ValueError: the model has a layer without a NumPy forward pass (the message
        names it).
    """

    def __init__(self, model: keras.Model, stop: str = None):
        self.model = model
        self.agent_index = None
        self._steps = []
        variables = []
        for layer in model.layers:
            if layer.name == stop:
                break
            if isinstance(layer, keras.layers.InputLayer | keras.layers.Identity):
                continue
            if isinstance(layer, AppendAgentId):
                self._steps.append(("id", (layer.index, layer.count)))
                self.agent_index = layer.index
            elif isinstance(layer, keras.layers.LayerNormalization) and _last_axis(layer):
                self._steps.append(("norm", (layer.epsilon, layer.center, layer.scale)))
                variables += [v for v in (layer.gamma, layer.beta) if v is not None]
            elif isinstance(layer, keras.layers.Dense) and layer.activation in _ACTIVATIONS:
                self._steps.append(("dense", (_ACTIVATIONS[layer.activation], layer.use_bias)))
                variables += [layer.kernel] + ([layer.bias] if layer.use_bias else [])
            else:
                raise ValueError(f"model {model.name!r}: layer {layer.name!r} "
                                 f"({type(layer).__name__}) has no NumPy forward pass")
        self.variables = variables
        self._weights = []
        self.sync()

    def sync(self) -> None:
        """Copies the model's current weights."""
        self._weights = [v.numpy() for v in self.variables]

    def __call__(self, x: np.ndarray, agent_ids: np.ndarray = None) -> np.ndarray:
        """[B, input] float32 -> [B, output] float32. ``agent_ids``: each row's position
        in the group of agents sharing these weights (rows of several agents stacked;
        default: this model's own)."""
        weights = iter(self._weights)
        for kind, arg in self._steps:
            if kind == "id":
                index, count = arg
                one_hot = np.zeros((x.shape[0], count), np.float32)
                one_hot[np.arange(x.shape[0]), index if agent_ids is None else agent_ids] = 1.0
                x = np.concatenate([x, one_hot], axis=-1)
            elif kind == "norm":
                epsilon, center, scale = arg
                mean = x.mean(axis=-1, keepdims=True)
                centred = x - mean
                x = centred / np.sqrt(np.square(centred).mean(axis=-1, keepdims=True)
                                      + np.float32(epsilon))
                if scale:
                    x = x * next(weights)
                if center:
                    x = x + next(weights)
            else:
                activation, use_bias = arg
                x = x @ next(weights)
                if use_bias:
                    x += next(weights)
                activation(x)
        return x


def _last_axis(layer) -> bool:
    """A LayerNorm over the features of [rows, features] inputs (the only inputs this
    module runs), in the usual form (no RMS scaling)."""
    axis = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    return list(axis) in ([-1], [1]) and not getattr(layer, "rms_scaling", False)


def _relu(x):
    np.maximum(x, 0.0, out=x)


def _tanh(x):
    np.tanh(x, out=x)


_ACTIVATIONS = {keras.activations.relu: _relu, keras.activations.tanh: _tanh,
                keras.activations.linear: lambda x: None}
"""Dense activations with a NumPy form (applied in place)."""

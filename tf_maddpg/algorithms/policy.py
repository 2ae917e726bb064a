"""The acting of deterministic actors (MADDPG's and MATD3's; the value-based family's
``EpsilonGreedyPolicy`` extends it): every agent's action from its own
observation, for one or many environments.

By default the policy runs the actors' forward pass as NumPy matrix products
on a copy of their weights (``tf_maddpg.networks.numpy_forward``,
``backend="numpy"``; ``sync`` refreshes the copy after the weights change).
``backend="graph"`` runs every agent's actor, for every environment, in one
compiled call instead; it serves actors that are not plain Dense stacks.
Either way the exploration noise is drawn in NumPy from ``MultiAgentPolicy.rng``,
so both backends give the same actions for the same generator state.

Actions travel packed: [B, sum(obs_dims)] in, [B, sum(action_dims)] out, every
agent's columns in the adapter's order (one-hot for Discrete agents).
"""

from __future__ import annotations

from typing import List, Sequence, Union

import keras
import numpy as np
import tensorflow as tf

from tf_maddpg.envs.specs import AgentSpec, column_slices
from tf_maddpg.networks.distributions import gumbel_from_uniform
from tf_maddpg.networks.numpy_forward import NumpyActors

BACKENDS = ("auto", "numpy", "graph")


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
      rng: the exploration noise's generator, or an int seed for a new one.
      backend: "numpy", "graph", or "auto" (NumPy when every actor is a plain
        Dense stack, else the graph).

    Attributes:
      rng: the NumPy generator of the exploration noise (checkpoints keep its state).
      backend: the backend in use, "numpy" or "graph".
    """

    def __init__(self, specs: Sequence[AgentSpec], actors: Sequence[keras.Model],
                 gumbel_temperature: float = 1.0, epsilon: float = 0.01,
                 exploration_noise: float = 0.1,
                 rng: Union[int, np.random.Generator, None] = 0, backend: str = "auto"):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.specs = tuple(specs)
        self.actors = list(actors)
        self.gumbel_temperature = gumbel_temperature
        self.epsilon = epsilon
        self.exploration_noise = exploration_noise
        self.rng = np.random.default_rng(rng)
        self._action_split = [c.stop for c in column_slices([s.action_dim for s in self.specs])[:-1]]
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

    def reset(self, num_rows: int) -> None:
        """A batch of ``num_rows`` episodes starts (the training loop's rounds,
        ``play_episodes``): nothing to forget here; a recurrent policy zeroes its
        hidden states."""

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
        columns = [np.arange(c.start, c.stop) for c in column_slices([s.action_dim for s in specs])]
        self.width = int(sum(s.action_dim for s in specs))
        discrete = [i for i, s in enumerate(specs) if s.discrete]
        box = [i for i, s in enumerate(specs) if not s.discrete]
        self.num_discrete = len(discrete)
        if discrete:
            sizes = np.array([specs[i].action_dim for i in discrete])
            self.sizes = sizes
            self.offsets = np.array([columns[i][0] for i in discrete])  # [D]
            # gather[d, a]: the column of agent d's action a; the padding column holds -inf.
            self.gather = np.full((len(discrete), sizes.max()), self.width)
            for d, i in enumerate(discrete):
                self.gather[d, :sizes[d]] = columns[i]
            self.discrete_cols = np.concatenate([columns[i] for i in discrete])
        self.box_cols = None
        if box:
            self.box_cols = np.concatenate([columns[i] for i in box])
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
                scores[:, :self.width] += gumbel_from_uniform(uniform)
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

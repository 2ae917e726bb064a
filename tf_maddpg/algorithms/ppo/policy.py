"""The on-policy family's acting: a categorical or Gaussian sample per agent.

The actors' outputs for every agent and environment come from NumPy
(``NumpyModel``: each actor's layers on a copy of its weights, which ``sync``
refreshes after every update), or from one compiled call where an actor has a
layer without a NumPy form: a compiled call costs about a millisecond
whatever it computes, several times the NumPy forward pass of 128
environments. The sampling is NumPy, from ``StochasticPolicy.rng``, so a run
is reproducible and a checkpoint keeps the generator's state.

Discrete agents sample their categorical distribution by the Gumbel-max
trick (the argmax of logits + Gumbel noise is a sample of softmax(logits));
Box agents sample N(mean, exp(log_std)^2), unbounded, and the environment
gets the sample clipped to the bounds. Greedy actions: the argmax, or the
clipped mean.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

from tf_maddpg.envs.specs import AgentSpec, column_slices
from tf_maddpg.networks.distributions import gumbel_from_uniform
from tf_maddpg.networks.mlp import actor_preactivation_model
from tf_maddpg.networks.numpy_forward import NumpyModel
from tf_maddpg.networks.stochastic import gaussian_head


class StochasticPolicy:
    """Every agent's action from its own observation, sampled or greedy.

    Args:
      specs: one ``AgentSpec`` per agent.
      actors: one actor per agent (``tf_maddpg.networks.stochastic``).
      rng: the sampling noise's generator, or an int seed for a new one.
      backend: "numpy", "graph", or "auto" (NumPy when every actor has a NumPy
        form, else the graph).

    Attributes:
      rng: the NumPy generator of the samples (checkpoints keep its state).
      backend: "numpy" (acts with the weights of the last ``sync``) or "graph"
        (one compiled call that reads the actors' weights live).
    """

    restores_snapshot = True
    """A checkpoint's restore calls ``restore``, which re-reads the restored actors."""

    def __init__(self, specs: Sequence[AgentSpec], actors: Sequence[keras.Model],
                 rng=0, backend: str = "auto"):
        if backend not in ("auto", "numpy", "graph"):
            raise ValueError(f"backend must be 'auto', 'numpy' or 'graph', got {backend!r}")
        self.specs = tuple(specs)
        self.actors = list(actors)
        self.rng = np.random.default_rng(rng)
        self._columns = column_slices([s.action_dim for s in self.specs])
        self._obs_columns = column_slices([s.obs_dim for s in self.specs])
        self._means = [a if s.discrete else actor_preactivation_model(a, s)
                       for a, s in zip(self.actors, self.specs)]
        obs_width = sum(s.obs_dim for s in self.specs)
        self._outputs = tf.function(self._graph_outputs,
                                    input_signature=[tf.TensorSpec([None, obs_width], tf.float32)])
        self._numpy = None
        if backend != "graph":
            try:
                models = [NumpyModel(a, stop=None if s.discrete else "preactivation")
                          for a, s in zip(self.actors, self.specs)]
            except ValueError:
                if backend == "numpy":
                    raise
            else:
                # Agents whose actors share their weights run as one stack of rows, each
                # with its own agent id.
                groups = {}
                for i, model in enumerate(models):
                    groups.setdefault(tuple(id(v) for v in model.variables), []).append(i)
                self._numpy = [(models[m[0]], m, [models[i].agent_index for i in m])
                               for m in groups.values()]
        self.backend = "numpy" if self._numpy is not None else "graph"
        self._std = None
        self.sync()

    def sync(self) -> None:
        """Re-reads the actors' weights (the NumPy backend acts with a copy; the graph
        reads them live)."""
        if self._numpy is None:
            return
        for model, _, _ in self._numpy:
            model.sync()
        self._std = np.concatenate([
            np.ones(s.action_dim, np.float32) if s.discrete
            else np.exp(gaussian_head(a).log_std.numpy()).astype(np.float32)
            for a, s in zip(self.actors, self.specs)])

    def snapshot(self) -> np.ndarray:
        """The actors' weights as one vector (checkpoints keep it)."""
        return np.concatenate([np.reshape(v.numpy(), -1) for a in self.actors
                               for v in a.trainable_variables])

    def restore(self, weights: np.ndarray) -> None:
        """After a checkpoint's restore: acts with the restored actors' weights, which
        the on-policy loop's behaviour policy always holds (it acts with the newest
        weights: the update runs between rounds).

        Raises:
          ValueError: ``weights`` is not a snapshot of these actors.
        """
        if np.size(weights) != self.snapshot().size:
            raise ValueError(f"{np.size(weights)} weights given, the actors have "
                             f"{self.snapshot().size}")
        self.sync()

    def outputs_packed(self, obs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Logits (Discrete) or unclipped means (Box), packed, and the std of every column
        (1 for Discrete columns)."""
        obs = np.asarray(obs, np.float32)
        if self._numpy is None:
            outputs, std = self._outputs(obs)
            return outputs.numpy(), std.numpy()
        rows = obs.shape[0]
        outputs = np.empty((rows, self._columns[-1].stop), np.float32)
        for model, members, ids in self._numpy:
            stacked = np.concatenate([obs[:, self._obs_columns[i]] for i in members])
            out = model(stacked, np.repeat(ids, rows) if len(members) > 1 else None)
            for k, i in enumerate(members):
                outputs[:, self._columns[i]] = out[k * rows:(k + 1) * rows]
        return outputs, np.broadcast_to(self._std, outputs.shape)

    def sample(self, obs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """A sampled action for every agent and row.

        Returns:
          (env_actions, actions): both [B, sum(action_dims)]: one-hot samples
          for Discrete agents in both; for Box agents the unclipped sample in
          ``actions`` (what the learner's log-probabilities are of) and the
          sample clipped to the bounds in ``env_actions``.
        """
        outputs, std = self.outputs_packed(obs)
        actions = np.empty_like(outputs)
        env_actions = np.empty_like(outputs)
        for spec, cols in zip(self.specs, self._columns):
            if spec.discrete:
                uniform = self.rng.random(outputs[:, cols].shape, np.float32)
                index = (outputs[:, cols] + gumbel_from_uniform(uniform)).argmax(axis=-1)
                actions[:, cols] = np.eye(spec.action_dim, dtype=np.float32)[index]
                env_actions[:, cols] = actions[:, cols]
            else:
                noise = self.rng.standard_normal(outputs[:, cols].shape, np.float32)
                actions[:, cols] = outputs[:, cols] + std[:, cols] * noise
                env_actions[:, cols] = np.clip(actions[:, cols], spec.low, spec.high)
        return env_actions, actions

    def act_packed(self, obs: np.ndarray, explore: bool = False) -> np.ndarray:
        """Packed observations -> packed actions for the environments: sampled when
        ``explore``, else greedy (argmax one-hot, or the mean clipped to the bounds)."""
        if explore:
            return self.sample(obs)[0]
        outputs, _ = self.outputs_packed(obs)
        actions = np.empty_like(outputs)
        for spec, cols in zip(self.specs, self._columns):
            if spec.discrete:
                index = outputs[:, cols].argmax(axis=-1)
                actions[:, cols] = np.eye(spec.action_dim, dtype=np.float32)[index]
            else:
                actions[:, cols] = np.clip(outputs[:, cols], spec.low, spec.high)
        return actions

    def act(self, obs: Sequence[np.ndarray], explore: bool = False):
        """Per-agent observations -> per-agent actions (one environment or a batch)."""
        single = np.ndim(obs[0]) == 1
        packed = np.concatenate([np.asarray(o, np.float32)[None] if single else o for o in obs],
                                axis=-1)
        actions = self.act_packed(packed, explore)
        parts = [actions[:, c] for c in self._columns]
        return [p[0] for p in parts] if single else parts

    def _graph_outputs(self, obs):
        parts = tf.split(obs, [s.obs_dim for s in self.specs], axis=-1)
        outputs, stds = [], []
        for spec, model, actor, o in zip(self.specs, self._means, self.actors, parts):
            out = model(o)
            outputs.append(out)
            if spec.discrete:
                stds.append(tf.ones_like(out))
            else:
                stds.append(tf.broadcast_to(tf.exp(gaussian_head(actor).log_std), tf.shape(out)))
        return tf.concat(outputs, axis=-1), tf.concat(stds, axis=-1)


def make_policy(specs: Sequence[AgentSpec], actors: Sequence[keras.Model], config,
                rng: Optional[np.random.Generator] = None) -> StochasticPolicy:
    """The acting policy of an IPPO, MAPPO or HAPPO ``config`` (the registry's entry)."""
    return StochasticPolicy(specs, actors, rng=rng)

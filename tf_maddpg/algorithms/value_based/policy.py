"""The acting of IQL, VDN and QMIX: epsilon-greedy on every agent's Q-values.

The Q-networks are the actors (``QLearner.actors``: observation -> Q-values),
so the forward pass, its NumPy backend and ``sync`` are
``MultiAgentPolicy``'s; only the choice of the action differs. Greedy: the
argmax of the agent's Q-values (ties: the first). Exploring: with
probability epsilon, a uniformly random action instead, drawn per agent and
environment from ``rng``.

Epsilon falls linearly from ``epsilon_start`` to ``epsilon_finish`` over
``epsilon_anneal_steps`` (EPyMARL's linear DecayThenFlatSchedule) of the
rows the policy has explored on (``explored_rows``: one per environment per
exploring call, the training env steps for mpe2's fixed-length episodes);
every row of one call uses the epsilon of the count before it. The count
travels in ``snapshot``, so a checkpoint keeps it and a resumed run goes on
along the same schedule.

Recurrent Q-networks (``agent='gru'``) act through
``RecurrentEpsilonGreedyPolicy``: the same choice of actions, with a hidden
state per environment and agent.
"""

from __future__ import annotations

from typing import Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from tf_maddpg.algorithms.policy import MultiAgentPolicy
from tf_maddpg.envs.specs import AgentSpec, column_slices
from tf_maddpg.networks.recurrent import hidden_size, is_recurrent


class EpsilonGreedyPolicy(MultiAgentPolicy):
    """Every agent's epsilon-greedy action on its own Q-values, for one or many environments.

    Args:
      specs: one ``AgentSpec`` per agent; Discrete actions only.
      actors: one Keras Q-network per agent, observation -> Q-values.
      epsilon_start, epsilon_finish, epsilon_anneal_steps: the linear schedule.
      rng: the exploration's generator, or an int seed for a new one.
      backend: as ``MultiAgentPolicy``'s. Checkpoints keep the schedule's
        count with the NumPy backend's weights (the Q-networks are plain
        Dense stacks, so "auto" picks it).

    Attributes:
      explored_rows: rows acted on with ``explore=True`` so far.

    Raises:
      ValueError: an agent's actions are not Discrete.
    """

    def __init__(self, specs: Sequence[AgentSpec], actors: Sequence[keras.Model],
                 epsilon_start: float = 1.0, epsilon_finish: float = 0.05,
                 epsilon_anneal_steps: int = 50_000, rng=0, backend: str = "auto"):
        for spec in specs:
            if not spec.discrete:
                raise ValueError(f"agent {spec.name!r}: epsilon-greedy acting needs Discrete "
                                 "actions")
        super().__init__(specs, actors, epsilon=0.0, rng=rng, backend=backend)
        self.epsilon_start, self.epsilon_finish = float(epsilon_start), float(epsilon_finish)
        self.epsilon_anneal_steps = int(epsilon_anneal_steps)
        self.explored_rows = 0
        sizes = np.array([s.action_dim for s in self.specs])
        self._sizes = sizes
        columns = column_slices(sizes)
        self._offsets = np.array([c.start for c in columns])  # [N]
        width = int(sizes.sum())
        # gather[i, a]: the column of agent i's action a; padding reads column `width` (-inf).
        self._gather = np.full((len(sizes), sizes.max()), width)
        for i, c in enumerate(columns):
            self._gather[i, :sizes[i]] = np.arange(c.start, c.stop)
        self._width = width

    def epsilon_at(self, rows: int) -> float:
        """Epsilon after ``rows`` explored rows."""
        fraction = min(rows / self.epsilon_anneal_steps, 1.0)
        return self.epsilon_start + fraction * (self.epsilon_finish - self.epsilon_start)

    @property
    def current_epsilon(self) -> float:
        """The epsilon of the next exploring call."""
        return self.epsilon_at(self.explored_rows)

    def act_packed(self, obs: np.ndarray, explore: bool = False) -> np.ndarray:
        """Packed observations [B, sum(obs_dims)] -> packed one-hot actions [B, sum(action_dims)]."""
        q = self.outputs_packed(np.asarray(obs, np.float32))  # [B, sum(num_actions)]
        rows = q.shape[0]
        scores = np.empty((rows, self._width + 1), np.float32)
        scores[:, :self._width] = q
        scores[:, self._width] = -np.inf
        index = scores[:, self._gather].argmax(axis=-1)  # [B, N]: greedy
        if explore:
            epsilon = self.current_epsilon
            self.explored_rows += rows
            explores = self.rng.random((rows, len(self.specs))) < epsilon
            index = np.where(explores, self.rng.integers(0, self._sizes, (rows, len(self.specs))),
                             index)
        actions = np.zeros((rows, self._width), np.float32)
        actions[np.arange(rows)[:, None], self._offsets + index] = 1.0
        return actions

    def snapshot(self) -> np.ndarray:
        """The weights the policy acts with and, last, ``explored_rows``: one float64 vector
        (the count is exact below 2**53) that checkpoints keep."""
        return np.concatenate([super().snapshot().astype(np.float64), [self.explored_rows]])

    def restore(self, values: np.ndarray) -> None:
        """Acts with a ``snapshot``'s weights and goes on from its ``explored_rows``."""
        values = np.asarray(values, np.float64)
        super().restore(values[:-1].astype(np.float32))
        self.explored_rows = int(values[-1])


class RecurrentEpsilonGreedyPolicy(EpsilonGreedyPolicy):
    """Epsilon-greedy on recurrent Q-networks (``agent='gru'``): a hidden state per
    environment and agent.

    ``reset(num_rows)`` starts ``num_rows`` episodes from zero hidden states
    (the training loop calls it at every round, ``play_episodes`` at every
    batch of evaluation or rendered episodes); every ``act_packed`` steps
    them, exploring or not. The actors run in one compiled call over
    [observation, hidden state] with their own, live weights (the learner
    writes them), so ``sync`` has nothing to copy.

    Checkpoints are taken between rounds, when every episode is over, so the
    hidden states are not saved: ``snapshot`` keeps the weights and the
    schedule's count as the feed-forward policy's does, and ``restore`` takes
    back the count (the weights come back with the learner's actors).

    Args: as ``EpsilonGreedyPolicy``'s; ``actors`` are
    ``make_recurrent_q_network`` models without id columns.
    """

    restores_snapshot = True
    """TrainingCheckpoint restores the snapshot (its count) although the backend is the graph."""

    def __init__(self, specs: Sequence[AgentSpec], actors: Sequence[keras.Model],
                 epsilon_start: float = 1.0, epsilon_finish: float = 0.05,
                 epsilon_anneal_steps: int = 50_000, rng=0):
        super().__init__(specs, actors, epsilon_start, epsilon_finish, epsilon_anneal_steps,
                         rng=rng, backend="graph")
        sizes = {hidden_size(a) for a in self.actors}
        if len(sizes) != 1:
            raise ValueError(f"the recurrent actors' hidden states differ in size ({sizes})")
        self.hidden_dim = sizes.pop()
        self.hidden = None  # [B, N, H] float32 after reset
        obs_width = sum(s.obs_dim for s in self.specs)
        self._step = tf.function(self._step_graph, input_signature=[
            tf.TensorSpec([None, obs_width], tf.float32),
            tf.TensorSpec([None, len(self.specs), self.hidden_dim], tf.float32)],
            autograph=False)

    def reset(self, num_rows: int) -> None:
        """Zero hidden states for ``num_rows`` environments starting their episodes."""
        self.hidden = np.zeros((num_rows, len(self.specs), self.hidden_dim), np.float32)

    def outputs_packed(self, obs: np.ndarray) -> np.ndarray:
        """Every agent's Q-values [B, sum(num_actions)]; steps the hidden states.

        Raises:
          ValueError: ``obs`` has another number of rows than the last ``reset``.
        """
        obs = np.asarray(obs, np.float32)
        if self.hidden is None:
            self.reset(len(obs))
        if len(obs) != len(self.hidden):
            raise ValueError(f"{len(obs)} rows of observations, but the hidden states are "
                             f"for {len(self.hidden)} environments: call reset(num_rows) as "
                             "the episodes start")
        q, hidden = self._step(obs, self.hidden)
        self.hidden = hidden.numpy()
        return q.numpy()

    def restore(self, values: np.ndarray) -> None:
        """Goes on from a ``snapshot``'s ``explored_rows`` (the weights are the actors')."""
        self.explored_rows = int(np.asarray(values, np.float64)[-1])

    def _step_graph(self, obs, hidden):
        parts = tf.split(obs, [s.obs_dim for s in self.specs], axis=-1)
        q, next_hidden = [], []
        for i, (actor, o) in enumerate(zip(self.actors, parts)):
            q_i, h_i = actor([o, hidden[:, i]])
            q.append(q_i)
            next_hidden.append(h_i)
        return tf.concat(q, axis=-1), tf.stack(next_hidden, axis=1)


def make_policy(specs: Sequence[AgentSpec], actors: Sequence[keras.Model], config,
                rng: Optional[np.random.Generator] = None) -> EpsilonGreedyPolicy:
    """The epsilon-greedy policy of an IQL, VDN or QMIX ``config`` (the registry's entry):
    recurrent when the actors are (``agent='gru'``)."""
    cls = (RecurrentEpsilonGreedyPolicy if any(is_recurrent(a) for a in actors)
           else EpsilonGreedyPolicy)
    return cls(specs, actors, config.epsilon_start, config.epsilon_finish,
               config.epsilon_anneal_steps, rng=rng)

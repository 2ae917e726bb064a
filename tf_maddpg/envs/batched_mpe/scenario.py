"""The base of a batched mpe2 scenario, and helpers shared by the scenarios.

A scenario mirrors one mpe2 module's ``Scenario`` and ``raw_env`` options:
it builds the ``BatchedWorld``, resets one environment from that
environment's random generator (same draws, same order as mpe2's
``reset_world``), and computes observations, rewards and termination for all
environments at once.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from tf_maddpg.envs.batched_mpe.world import BatchedWorld, norm2

# Options every mpe2 scenario's raw_env takes, with their defaults.
COMMON_OPTIONS: Dict[str, Any] = {
    "max_cycles": 25,
    "continuous_actions": False,
    "render_mode": None,
    "dynamic_rescaling": True,
    "benchmark_data": False,
}


class BatchedScenario:
    """One mpe2 scenario over ``num_envs`` environments.

    Subclasses set ``module`` (the mpe2 module name) and ``OPTIONS`` (their
    raw_env options beyond ``COMMON_OPTIONS``, with mpe2's defaults), and
    implement ``make_world``, ``reset_env``, ``observations`` and
    ``agent_rewards``; ``global_reward``, ``post_step`` and ``is_terminal``
    when mpe2's scenario has them.

    Args:
      num_envs: number of environments E.
      options: every option of the scenario (defaults filled in), already
        checked for unknown names.

    Raises:
      ValueError: an option value that mpe2 would reject.
    """

    module: str = ""
    OPTIONS: Dict[str, Any] = {}

    def __init__(self, num_envs: int, options: Mapping[str, Any]) -> None:
        self.num_envs = int(num_envs)
        self.options = dict(options)
        # Blend of local and global reward (SimpleEnv's local_ratio); None: local only.
        self.local_ratio: Optional[float] = None
        # Always 0, as mpe2 1.1.1's (see ``set_curriculum_stage``).
        self.curriculum_stage = 0

    # --- what a subclass provides -------------------------------------------------

    def make_world(self) -> BatchedWorld:
        """Build the world's entities (mpe2's ``make_world``).

        Returns:
          A zero-state ``BatchedWorld``.
        """
        raise NotImplementedError

    def reset_env(self, world: BatchedWorld, e: int, rng: np.random.Generator) -> None:
        """Reset environment ``e`` from its generator, drawing what mpe2's
        ``reset_world`` draws in the same order. Velocities and communication
        are already zero.

        Args:
          world: the batched world.
          e: the environment's index.
          rng: the environment's freshly seeded generator.
        """
        raise NotImplementedError

    def observations(self, world: BatchedWorld) -> List[np.ndarray]:
        """Every agent's observation, for all environments.

        Args:
          world: the batched world.

        Returns:
          One ``[E, obs_dim]`` array per agent, in mpe2's agent order.
        """
        raise NotImplementedError

    def agent_rewards(self, world: BatchedWorld) -> np.ndarray:
        """Every agent's own reward (mpe2 ``Scenario.reward``).

        Args:
          world: the batched world.

        Returns:
          ``[E, N]`` float64 rewards.
        """
        raise NotImplementedError

    def global_reward(self, world: BatchedWorld) -> np.ndarray:
        """The shared reward that ``local_ratio`` blends in.

        Args:
          world: the batched world.

        Returns:
          ``[E]`` float64.
        """
        return np.zeros(self.num_envs)

    def post_step(self, world: BatchedWorld) -> None:
        """Scenario logic between physics and rewards (mpe2 ``post_step``).

        Args:
          world: the batched world.
        """

    def is_terminal(self, world: BatchedWorld) -> Optional[np.ndarray]:
        """Whether each environment's episode ends on success now.

        Args:
          world: the batched world.

        Returns:
          ``[E]`` bool, or None where the scenario never terminates.
        """
        return None

    def set_curriculum_stage(self, stage: int) -> None:
        """Set the curriculum stage: a no-op, as in mpe2 1.1.1.

        mpe2's ``BaseScenario.curriculum_stage`` is a property whose setter does
        nothing, so simple_spread's and simple_tag's stage stays 0 whatever
        ``set_curriculum_stage`` / ``advance_curriculum`` are asked; the batched
        scenarios keep that behaviour to stay equal to mpe2.

        Args:
          stage: the requested stage (ignored).
        """

    def advance_curriculum(self) -> None:
        """Advance the curriculum: a no-op, as in mpe2 1.1.1 (see
        ``set_curriculum_stage``)."""

    # --- shared -------------------------------------------------------------------

    def rewards(self, world: BatchedWorld) -> np.ndarray:
        """Rewards as mpe2's ``SimpleEnv`` hands them out: the agent's reward, or
        ``global * (1 - local_ratio) + agent * local_ratio`` when the scenario
        has a ``local_ratio``. The global reward is computed first, as in mpe2.

        Args:
          world: the batched world.

        Returns:
          ``[E, N]`` float64 rewards.
        """
        if self.local_ratio is None:
            return self.agent_rewards(world)
        glob = self.global_reward(world)  # [E]
        local = self.agent_rewards(world)  # [E, N]
        return glob[:, None] * (1 - self.local_ratio) + local * self.local_ratio


# --- helpers ---------------------------------------------------------------------


def check_local_ratio(value: Any, module: str) -> float:
    """mpe2's check that ``local_ratio`` is a proportion.

    Args:
      value: the option's value.
      module: the scenario, for the message.

    Returns:
      The value as a float.

    Raises:
      ValueError: the value is not in [0, 1].
    """
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{module}: local_ratio is a proportion. Must be between 0 and 1 "
                         f"(got {value!r})")
    return float(value)


def check_neighbors(options: Mapping[str, Any], module: str) -> None:
    """mpe2's check of ``num_agent_neighbors`` / ``num_landmark_neighbors``.

    Args:
      options: the scenario's options.
      module: the scenario, for the message.

    Raises:
      ValueError: a value that is neither None nor a positive int.
    """
    for key in ("num_agent_neighbors", "num_landmark_neighbors"):
        value = options.get(key)
        if value is not None and not (isinstance(value, int) and not isinstance(value, bool)
                                      and value > 0):
            raise ValueError(f"{module}: {key} must be a positive integer or None "
                             f"(got {value!r})")


def check_count(value: Any, name: str, module: str, minimum: int = 0) -> int:
    """Check an entity count option.

    Args:
      value: the option's value.
      name: the option's name.
      module: the scenario, for the message.
      minimum: the smallest valid count.

    Returns:
      The count.

    Raises:
      ValueError: not an int, or below ``minimum``.
    """
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{module}: {name} must be an integer >= {minimum} (got {value!r})")
    return int(value)


def others_index(n: int) -> np.ndarray:
    """For each of ``n`` agents, the other agents' indices in order.

    Args:
      n: number of agents.

    Returns:
      ``[n, n - 1]`` int indices.
    """
    return np.array([[j for j in range(n) if j != i] for i in range(n)], dtype=np.intp).reshape(
        n, max(n - 1, 0))


def relative_to_agents(world: BatchedWorld) -> np.ndarray:
    """Every entity's position relative to every agent.

    Args:
      world: the batched world.

    Returns:
      ``[E, N, N + L, 2]``: ``out[e, i, j] = pos[e, j] - pos[e, i]``.
    """
    return world.relative()


def nearest_order(rel: np.ndarray, n: Optional[int]) -> Tuple[Optional[np.ndarray], int]:
    """mpe2's N-nearest filter (``partial_observability.nearest_entities``):
    which entities each agent sees, closest first.

    Args:
      rel: ``[E, A, K, 2]`` entity positions relative to each agent.
      n: how many to keep; None keeps all in their own order.

    Returns:
      ``(order, pad)``: ``order`` is ``[E, A, min(n, K)]`` indices into K
      (None when ``n`` is None), ``pad`` the number of zero slots to add.
    """
    if n is None:
        return None, 0
    k = rel.shape[2]
    if k == 0:
        return np.zeros(rel.shape[:2] + (0,), dtype=np.intp), n
    dist = norm2(rel)  # [E, A, K]
    # A stable sort equals mpe2's argsort wherever distances differ.
    order = np.argsort(dist, axis=-1, kind="stable")[..., :n]
    return order, n - order.shape[-1]


def gather_slots(values: np.ndarray, order: Optional[np.ndarray], pad: int) -> np.ndarray:
    """Pick per-agent entity slots in ``order`` and append ``pad`` zero slots.

    Args:
      values: ``[E, A, K, D]`` per-agent, per-entity values.
      order: ``[E, A, k]`` indices into K, or None for all K in order.
      pad: number of zero slots to append.

    Returns:
      ``[E, A, (k + pad) * D]`` flattened slots.
    """
    if order is not None:
        values = np.take_along_axis(values, order[..., None], axis=2)
    if pad:
        zeros = np.zeros(values.shape[:2] + (pad, values.shape[3]))
        values = np.concatenate([values, zeros], axis=2)
    e, a = values.shape[:2]
    return values.reshape(e, a, -1)


def bound_penalty(x: np.ndarray) -> np.ndarray:
    """simple_tag / simple_world_comm's ``bound(x)`` for leaving the screen.

    Args:
      x: absolute coordinates.

    Returns:
      0 below 0.9, ``(x - 0.9) * 10`` below 1, else ``min(exp(2x - 2), 10)``.
    """
    with np.errstate(over="ignore"):
        far = np.minimum(np.exp(2 * x - 2), 10)
    return np.where(x < 0.9, 0.0, np.where(x < 1.0, (x - 0.9) * 10, far))


def split_agents(block: np.ndarray) -> List[np.ndarray]:
    """Split ``[E, N, D]`` into N arrays ``[E, D]`` (views).

    Args:
      block: per-agent rows of the same width.

    Returns:
      The per-agent arrays.
    """
    return [block[:, i] for i in range(block.shape[1])]

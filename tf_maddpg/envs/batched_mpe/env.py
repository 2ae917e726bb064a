"""``BatchedMPEEnv``: many copies of one mpe2 scenario stepped together.

Environment k, reset with seed s, follows exactly the trajectory of
``mpe2.<scenario>.parallel_env(**options)`` reset with ``seed=s`` and given
the same actions: the reset draws from a generator seeded as mpe2 seeds it
(``gymnasium.utils.seeding.np_random``: PCG64 over ``SeedSequence(s)``), and
the step repeats mpe2's action decoding, physics, rewards and
termination/truncation, vectorised over environments.

Every mpe2 scenario ends an episode for all its agents at once (all
truncated at ``max_cycles``, or all terminated when ``terminate_on_success``
is met), which is when mpe2's parallel_env empties its ``agents`` list. From
then on, until that environment is reset, its agents are not alive: their
observations and rewards are zeros, their actions are ignored, and their
``terminated`` / ``truncated`` flags stay as the episode ended.
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from tf_maddpg.envs.batched_mpe.scenario import BatchedScenario

# Discrete movement actions: no-op, left, right, down, up (mpe2 ``_set_action``).
_MOVES = np.array([[0.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]])
_MOVE_DIM = 5  # dim_p * 2 + 1

Actions = Union[Sequence[Any], Mapping[str, Any]]


def seeded_generator(seed: int) -> np.random.Generator:
    """The generator mpe2 uses after ``reset(seed=seed)``.

    Args:
      seed: a non-negative int.

    Returns:
      ``np.random.Generator(PCG64(SeedSequence(seed)))``, as gymnasium's
      ``seeding.np_random`` builds it.
    """
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))


class BatchedMPEEnv:
    """One mpe2 scenario, ``num_envs`` environments, stepped with NumPy.

    Build it with ``make_batched_env``.

    Args:
      scenario: the batched scenario (holds the options).
      num_envs: number of environments E.

    Attributes:
      scenario_name: the mpe2 module name, e.g. ``"simple_spread_v3"``.
      num_envs: E.
      options: every option with its value (defaults filled in).
      agents: agent names, in mpe2's ``possible_agents`` order.
      observation_sizes: per agent, the observation width.
      action_sizes: per agent, ``Discrete(n)``'s n or the Box width.
      discrete: per agent, whether its actions are Discrete.
      action_low, action_high: per agent, the Box bounds (float32 arrays),
        None for a Discrete agent.
      state_size: width of ``state()``.
      max_cycles: steps before truncation.
      world: the ``BatchedWorld`` (entity state arrays).
    """

    def __init__(self, scenario: BatchedScenario, num_envs: int) -> None:
        self.scenario = scenario
        self.scenario_name = scenario.module
        self.num_envs = int(num_envs)
        self.options = dict(scenario.options)
        self.max_cycles = int(self.options["max_cycles"])
        self.continuous = bool(self.options["continuous_actions"])
        self.world = scenario.make_world()
        w = self.world
        self.agents: Tuple[str, ...] = tuple(a.name for a in w.agents)
        n = len(self.agents)

        sizes, lows, highs = [], [], []
        for a in w.agents:
            if a.movable:
                dim = _MOVE_DIM
            else:
                dim = 0 if self.continuous else 1
            if not a.silent:
                dim = dim + w.dim_c if self.continuous else dim * w.dim_c
            sizes.append(dim)
            lows.append(np.zeros(dim, np.float32) if self.continuous else None)
            highs.append(np.ones(dim, np.float32) if self.continuous else None)
        self.action_sizes: Tuple[int, ...] = tuple(sizes)
        self.discrete: Tuple[bool, ...] = (not self.continuous,) * n
        self.action_low: Tuple[Optional[np.ndarray], ...] = tuple(lows)
        self.action_high: Tuple[Optional[np.ndarray], ...] = tuple(highs)
        self._nvec = np.array(sizes)  # [N] Discrete sizes

        # Which agents move / talk, and where their message starts in a Box action.
        self._movable = [i for i, a in enumerate(w.agents) if a.movable]
        self._talkers = [i for i, a in enumerate(w.agents) if not a.silent]
        self._comm_offset = [(_MOVE_DIM if w.agents[i].movable else 0) for i in range(n)]
        self._all_movable = len(self._movable) == n
        self._eye_c = np.eye(max(w.dim_c, 1))

        # Observation widths from a dry run on the zero state.
        self.observation_sizes: Tuple[int, ...] = tuple(
            int(o.shape[1]) for o in scenario.observations(w))
        self.state_size = int(sum(self.observation_sizes))

        e = self.num_envs
        self._alive = np.zeros(e, dtype=bool)  # [E] episode running
        self._steps = np.zeros(e, dtype=np.int64)  # [E]
        self._terminated = np.zeros(e, dtype=bool)  # [E]
        self._truncated = np.zeros(e, dtype=bool)  # [E]
        self._was_reset = np.zeros(e, dtype=bool)
        self._obs: Optional[List[np.ndarray]] = None

    # --- properties ------------------------------------------------------------------

    @property
    def num_agents(self) -> int:
        """Number of agents N."""
        return len(self.agents)

    @property
    def alive(self) -> np.ndarray:
        """``[E]`` bool: whether each environment's episode is still running."""
        return self._alive.copy()

    @property
    def steps(self) -> np.ndarray:
        """``[E]`` int: steps taken in each environment's episode."""
        return self._steps.copy()

    @property
    def curriculum_stage(self) -> int:
        """The scenario's curriculum stage (0 where it has none)."""
        return self.scenario.curriculum_stage

    def set_curriculum_stage(self, stage: int) -> None:
        """As mpe2 1.1.1's ``raw_env.set_curriculum_stage``: no effect, the stage
        stays 0 (mpe2's ``BaseScenario.curriculum_stage`` setter is a no-op).

        Args:
          stage: the requested stage (ignored, as by mpe2).
        """
        self.scenario.set_curriculum_stage(stage)

    def advance_curriculum(self) -> None:
        """As mpe2 1.1.1's ``raw_env.advance_curriculum``: no effect."""
        self.scenario.advance_curriculum()

    # --- reset / step ----------------------------------------------------------------

    def reset(self, seeds: Sequence[int],
              env_ids: Optional[Sequence[int]] = None) -> List[np.ndarray]:
        """Reset environments, each from its own seed, as mpe2's
        ``parallel_env.reset(seed=seed)``.

        Args:
          seeds: one non-negative int seed per environment reset.
          env_ids: which environments to reset; None resets all ``num_envs``
            (then ``len(seeds)`` must be ``num_envs``). Others keep their
            state.

        Returns:
          The observations of every environment: one float32
          ``[num_envs, obs_dim]`` array per agent.

        Raises:
          ValueError: a wrong number of seeds, a seed that is not a
            non-negative int, or a bad environment index.
        """
        if env_ids is None:
            ids = np.arange(self.num_envs)
        else:
            ids = np.asarray(env_ids)
            if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)) or (
                    ids.size and (ids.min() < 0 or ids.max() >= self.num_envs)) or len(
                        np.unique(ids)) != len(ids):
                raise ValueError(f"{self.scenario_name}: env_ids must be distinct environment "
                                 f"indices in [0, {self.num_envs}); got {env_ids!r}")
            ids = ids.astype(np.intp)
        seeds = list(seeds) if not isinstance(seeds, np.ndarray) else seeds.tolist()
        if len(seeds) != len(ids):
            raise ValueError(f"{self.scenario_name}: reset needs one seed per environment "
                             f"reset: expected {len(ids)} seeds, got {len(seeds)}")
        for s in seeds:
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
                raise ValueError(f"{self.scenario_name}: seeds must be non-negative ints "
                                 f"(mpe2 seeds with gymnasium's seeding); got {s!r}")
        w = self.world
        for e, s in zip(ids.tolist(), seeds):
            w.reset_env(e)
            self.scenario.reset_env(w, e, seeded_generator(int(s)))
        w.invalidate()
        self._alive[ids] = True
        self._steps[ids] = 0
        self._terminated[ids] = False
        self._truncated[ids] = False
        self._was_reset[ids] = True
        self._obs = self._observe()
        return [o.copy() for o in self._obs]

    def step(self, actions: Actions
             ) -> Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray], List[np.ndarray]]:
        """Step every environment once, as mpe2's ``parallel_env.step``.

        Args:
          actions: one array per agent (a sequence in ``agents`` order, or a
            mapping from agent name): ``[num_envs]`` ints for Discrete agents,
            ``[num_envs, act_dim]`` floats for Box agents (clipped to the
            bounds, as mpe2's wrapper does). Rows of environments whose
            episode has ended are ignored.

        Returns:
          ``(observations, rewards, terminated, truncated)``, each a list with
          one array per agent: float32 ``[num_envs, obs_dim]``, float32
          ``[num_envs]``, bool ``[num_envs]``, bool ``[num_envs]``.

        Raises:
          RuntimeError: an environment was never reset.
          ValueError: actions of the wrong number, shape, type or range.
        """
        if not self._was_reset.all():
            raise RuntimeError(f"{self.scenario_name}: call reset(seeds) before step "
                               f"(environments {np.flatnonzero(~self._was_reset).tolist()} "
                               f"were never reset)")
        acts = self._check_actions(actions)
        alive = self._alive
        all_alive = bool(alive.all())
        w = self.world
        w.step(self._decode(acts, alive, all_alive))
        self.scenario.post_step(w)
        w.invalidate()  # the scenario may have moved entities
        rewards = self.scenario.rewards(w)  # [E, N]

        self._steps += alive
        trunc = alive & (self._steps >= self.max_cycles)
        term = self.scenario.is_terminal(w)
        self._truncated |= trunc
        if term is not None:
            self._terminated |= alive & ~trunc & term
        obs = self._observe()
        rew = np.ascontiguousarray(rewards.T, dtype=np.float32)  # [N, E]
        if not all_alive:
            rew[:, ~alive] = 0.0
        self._alive = alive & ~(self._terminated | self._truncated)
        self._obs = obs
        n = self.num_agents
        return ([o.copy() for o in obs], list(rew), [self._terminated.copy() for _ in range(n)],
                [self._truncated.copy() for _ in range(n)])

    def state(self) -> np.ndarray:
        """mpe2's global state: all agents' current observations, concatenated.

        Returns:
          float32 ``[num_envs, state_size]`` (zeros where the episode ended).

        Raises:
          RuntimeError: before ``reset``.
        """
        if self._obs is None:
            raise RuntimeError(f"{self.scenario_name}: call reset(seeds) before state()")
        return np.concatenate(self._obs, axis=1)

    # --- internals -------------------------------------------------------------------

    def _observe(self) -> List[np.ndarray]:
        obs = [np.array(o, dtype=np.float32) for o in self.scenario.observations(self.world)]
        if not self._alive.all():
            dead = ~self._alive
            for o in obs:
                o[dead] = 0.0
        return obs

    def _check_actions(self, actions: Actions) -> List[np.ndarray]:
        name, n, e = self.scenario_name, self.num_agents, self.num_envs
        if isinstance(actions, Mapping):
            if set(actions) != set(self.agents):
                raise ValueError(f"{name}: actions must have exactly the agents "
                                 f"{list(self.agents)}; got {sorted(actions)}")
            actions = [actions[a] for a in self.agents]
        if isinstance(actions, np.ndarray) and actions.ndim >= 1:
            actions = list(actions)  # stacked per agent along the first axis
        if not isinstance(actions, (list, tuple)) or len(actions) != n:
            got = (f"{type(actions).__name__} of length {len(actions)}"
                   if hasattr(actions, "__len__") else type(actions).__name__)
            raise ValueError(f"{name}: step needs a list of {n} action arrays (one per agent, "
                             f"{list(self.agents)}); got {got}")
        out = []
        for i, a in enumerate(actions):
            a = np.asarray(a)
            if self.continuous:
                want = (e, self.action_sizes[i])
                if a.shape != want:
                    raise ValueError(f"{name}: agent {self.agents[i]!r} needs a Box action array "
                                     f"of shape {want} (num_envs, act_dim); got {a.shape}")
                if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
                    raise ValueError(f"{name}: agent {self.agents[i]!r} Box actions must be "
                                     f"numbers; got dtype {a.dtype}")
                if not np.issubdtype(a.dtype, np.floating):
                    a = a.astype(np.float64)
            else:
                if a.shape != (e,):
                    raise ValueError(f"{name}: agent {self.agents[i]!r} needs a Discrete action "
                                     f"array of shape ({e},) (num_envs,); got {a.shape}")
                if not np.issubdtype(a.dtype, np.integer):
                    raise ValueError(f"{name}: agent {self.agents[i]!r} Discrete actions must be "
                                     f"integers; got dtype {a.dtype}")
            out.append(a)
        return out

    def _decode(self, acts: List[np.ndarray], alive: np.ndarray, all_alive: bool) -> np.ndarray:
        """Actions -> action forces ``[E, N, 2]``; writes the talkers' messages
        into ``world.comm`` (mpe2's ``_set_action`` and communication update)."""
        w = self.world
        e, n = self.num_envs, self.num_agents
        if not self.continuous:
            a = np.stack(acts, axis=1)  # [E, N]
            if not all_alive:
                a = np.where(alive[:, None], a, 0)  # ignore finished environments
            if (a < 0).any() or (a >= self._nvec).any():
                bad = [self.agents[i] for i in range(n)
                       if ((a[:, i] < 0) | (a[:, i] >= self._nvec[i])).any()]
                sizes = dict(zip(self.agents, self.action_sizes))
                raise ValueError(f"{self.scenario_name}: Discrete actions out of range for "
                                 f"{bad} (valid: 0 <= action < n, n per agent: {sizes})")
            u = _MOVES[a % _MOVE_DIM] * w.accel[..., None]  # [E, N, 2]
            for i in self._talkers:
                index = a[:, i] // _MOVE_DIM if w.agents[i].movable else a[:, i]
                w.comm[:, i] = self._eye_c[index]
            return u
        u = np.zeros((e, n, 2))
        for i, act in enumerate(acts):
            act = np.clip(act, 0, 1)  # mpe2's ClipOutOfBoundsWrapper (keeps the dtype)
            if not all_alive:
                act = np.where(alive[:, None], act, 0).astype(act.dtype, copy=False)
            acts[i] = act
            if w.agents[i].movable:
                # The difference is taken in the action's own dtype, as in mpe2.
                u[:, i] = act[:, 2:5:2] - act[:, 1:4:2]
        u *= w.accel[..., None]
        for i in self._talkers:
            off = self._comm_offset[i]
            w.comm[:, i] = acts[i][:, off:off + w.dim_c]
        return u

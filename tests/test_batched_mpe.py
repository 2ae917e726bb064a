"""The batched NumPy mpe2 (tf_maddpg.envs.batched_mpe) against mpe2 itself.

Each check drives mpe2's ``parallel_env`` (one per seed) and one batched env
(one environment per seed) with the same actions for a whole episode, and
asserts equal observations and rewards (within 1e-5) and identical
termination / truncation flags at every step.
"""

from __future__ import annotations

import importlib
import inspect
import warnings

import numpy as np
import pytest

from tf_maddpg.envs.batched_mpe import SCENARIOS, make_batched_env, scenario_options

SEEDS = (0, 17, 12345)
TOL = dict(atol=1e-5, rtol=1e-5)


def _mpe2_envs(scenario, seeds, kwargs):
    module = importlib.import_module(f"mpe2.{scenario}")
    envs, first = [], []
    for s in seeds:
        env = module.parallel_env(**kwargs)
        obs, _ = env.reset(seed=int(s))
        envs.append(env)
        first.append(obs)
    return envs, first


def _random_policy(rng):
    def policy(env, obs, t):
        acts = []
        for size, disc in zip(env.action_sizes, env.discrete):
            if disc:
                acts.append(rng.integers(0, size, env.num_envs))
            else:
                acts.append(rng.random((env.num_envs, size), dtype=np.float32))
        return acts
    return policy


def _compare_obs(env, ours, theirs, k, where):
    for i, agent in enumerate(env.agents):
        np.testing.assert_allclose(ours[i][k], theirs[agent], **TOL,
                                   err_msg=f"{where}: observation of {agent}, env {k}")


def run_episode(scenario, kwargs, seeds=SEEDS, policy=None, steps=None, extra_steps=2,
                setup=None):
    """Drive mpe2 and the batched env side by side; returns the batched env and
    how many environments ended by termination."""
    env = make_batched_env(scenario, len(seeds), **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mpe, first = _mpe2_envs(scenario, seeds, kwargs)
    obs = env.reset(list(seeds))
    assert tuple(mpe[0].possible_agents) == env.agents
    for i, agent in enumerate(env.agents):
        space = mpe[0].action_space(agent)
        assert env.observation_sizes[i] == mpe[0].observation_space(agent).shape[0]
        if env.discrete[i]:
            assert env.action_sizes[i] == space.n
        else:
            assert env.action_sizes[i] == space.shape[0]
            np.testing.assert_array_equal(env.action_low[i], space.low)
            np.testing.assert_array_equal(env.action_high[i], space.high)
    for k in range(len(seeds)):
        _compare_obs(env, obs, first[k], k, "reset")
        np.testing.assert_allclose(env.state()[k], mpe[k].state(), **TOL)
    if setup is not None:
        setup(env, mpe)
    policy = policy or _random_policy(np.random.default_rng(1234))
    steps = steps if steps is not None else env.max_cycles
    terminated = 0
    for t in range(steps + extra_steps):
        acts = policy(env, obs, t)
        obs, rew, term, trunc = env.step(acts)
        for k, m in enumerate(mpe):
            where = f"{scenario} {kwargs} step {t}"
            if not m.agents:  # mpe2's episode is over: the batched env stays done
                for i in range(env.num_agents):
                    assert not obs[i][k].any() and rew[i][k] == 0.0, where
                    assert term[i][k] or trunc[i][k], where
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                o, r, te, tr, _ = m.step({a: (int(acts[i][k]) if env.discrete[i] else acts[i][k])
                                          for i, a in enumerate(env.agents)})
            _compare_obs(env, obs, o, k, where)
            for i, agent in enumerate(env.agents):
                np.testing.assert_allclose(rew[i][k], r[agent], **TOL,
                                           err_msg=f"{where}: reward of {agent}, env {k}")
                assert bool(term[i][k]) == te[agent], f"{where}: terminated {agent} env {k}"
                assert bool(trunc[i][k]) == tr[agent], f"{where}: truncated {agent} env {k}"
            if not m.agents:
                terminated += any(te.values())
            else:
                np.testing.assert_allclose(env.state()[k], m.state(), **TOL)
    for m in mpe:
        m.close()
    return env, terminated


# --- every scenario, both action types ------------------------------------------------


@pytest.mark.parametrize("continuous", [False, True], ids=["discrete", "continuous"])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_defaults_match_mpe2(scenario, continuous):
    run_episode(scenario, {"continuous_actions": continuous})


# --- non-default options ----------------------------------------------------------------

OPTION_CASES = [
    ("simple_v3", {"max_cycles": 7, "dynamic_rescaling": False}),
    ("simple_adversary_v3", {"N": 3}),
    ("simple_adversary_v3", {"N": 3, "num_agent_neighbors": 2, "num_landmark_neighbors": 2}),
    ("simple_adversary_v3", {"num_agent_neighbors": 5, "num_landmark_neighbors": 4}),
    ("simple_crypto_v3", {"max_cycles": 9}),
    ("simple_push_v3", {"max_cycles": 30}),
    ("simple_reference_v3", {"local_ratio": 0.9}),
    ("simple_speaker_listener_v4", {"max_cycles": 11, "dynamic_rescaling": False}),
    ("simple_spread_v3", {"N": 2, "local_ratio": 0.25}),
    ("simple_spread_v3", {"N": 4, "terminate_on_success": True, "num_agent_neighbors": 2,
                          "num_landmark_neighbors": 2}),
    ("simple_spread_v3", {"curriculum": True}),
    ("simple_tag_v3", {"num_good": 2, "num_adversaries": 2, "num_obstacles": 1,
                       "terminate_on_success": True}),
    ("simple_tag_v3", {"num_agent_neighbors": 2, "num_landmark_neighbors": 3}),
    ("simple_tag_v3", {"curriculum": True}),
    ("simple_world_comm_v3", {"num_good": 1, "num_adversaries": 3, "num_obstacles": 2,
                              "num_food": 3, "num_forests": 1}),
    ("collect_treasure_v1", {"num_collectors": 3, "num_deposits": 3, "num_treasures": 4,
                             "max_cycles": 40}),
    ("collect_treasure_v1", {"num_collectors": 4, "num_deposits": 1, "num_treasures": 8}),
    ("simple_formation_v1", {"N": 3, "terminate_on_success": True}),
    ("simple_formation_v1", {"N": 6}),
    ("simple_formation_v1", {"N": 13}),  # beyond the DP: scipy per environment
    ("simple_line_v1", {"N": 2, "terminate_on_success": True}),
    ("simple_line_v1", {"N": 1}),
]


@pytest.mark.parametrize("continuous", [False, True], ids=["discrete", "continuous"])
@pytest.mark.parametrize("scenario,kwargs", OPTION_CASES,
                         ids=[f"{s}-{'-'.join(f'{k}={v}' for k, v in o.items())}"
                              for s, o in OPTION_CASES])
def test_options_match_mpe2(scenario, kwargs, continuous):
    run_episode(scenario, {**kwargs, "continuous_actions": continuous})


def test_option_names_are_mpe2s():
    for name in SCENARIOS:
        module = importlib.import_module(f"mpe2.{name}")
        expected = set(inspect.signature(module.raw_env.__init__).parameters) - {"self"}
        assert set(scenario_options(name)) == expected, name
        defaults = {k: p.default for k, p in
                    inspect.signature(module.raw_env.__init__).parameters.items() if k != "self"}
        assert scenario_options(name) == defaults, name


def test_float64_and_out_of_range_box_actions_are_clipped_like_mpe2():
    rng = np.random.default_rng(5)

    def policy(env, obs, t):
        return [rng.uniform(-0.5, 1.5, (env.num_envs, size)) for size in env.action_sizes]

    run_episode("simple_world_comm_v3", {"continuous_actions": True}, policy=policy)


def _collect_policy(env, obs, t):
    """Collectors head for the closest treasure, or, holding one, for its
    deposit; deposits head for the closest agent (plenty of pickups,
    respawns and deliveries)."""
    sc = env.scenario
    n, e, width = sc.n_dep, env.num_envs, 4 + 2 * sc.n_dep
    acts = []
    for i in range(env.num_agents):
        o = obs[i]
        if i < sc.n_col:
            hold = o[:, 4:4 + n]
            first_treasure = 4 + n + (env.num_agents - 1) * width
            others = o[:, 4 + n:first_treasure].reshape(e, -1, width)
            match = (others[:, :, 4:4 + n] * hold[:, None, :]).sum(axis=2) > 0
            deposit = others[np.arange(e), np.argmax(match, axis=1), 0:2]
            target = np.where(hold.any(axis=1)[:, None], deposit,
                              o[:, first_treasure:first_treasure + 2])
        else:
            target = o[:, 4:6]
        acts.append(_toward(target[:, 0], target[:, 1]))
    return acts


@pytest.mark.parametrize("kwargs", [{}, {"num_collectors": 4, "num_deposits": 3,
                                         "num_treasures": 3}])
def test_collect_treasure_pickups_respawns_and_deliveries_match_mpe2(kwargs):
    env, _ = run_episode("collect_treasure_v1", {**kwargs, "max_cycles": 60},
                         seeds=(0, 1, 2, 3), policy=_collect_policy)
    # The replayed generator was used: respawns happened.
    assert env.scenario.stream.cur.min() > 0


def test_push_contacts_match_mpe2():
    rng = np.random.default_rng(2)

    def policy(env, obs, t):  # the adversary rams the good agent
        return [_toward(obs[0][:, 6], obs[0][:, 7]), rng.integers(0, 5, env.num_envs)]

    run_episode("simple_push_v3", {"max_cycles": 40}, policy=policy)


# --- the replayed generator -------------------------------------------------------------


def _pcg64_state_whose_next_output_is(x, hi=0x0123456789ABCDEF, inc=24691):
    """A PCG64 state whose next 64-bit output is ``x`` (XSL-RR inverted)."""
    mult = 0x2360ED051FC65DA44385DF649FCCF645
    rot = hi >> 58
    rotl = ((x << rot) | (x >> (64 - rot))) & (2 ** 64 - 1) if rot else x
    post = (hi << 64) | (hi ^ rotl)
    pre = ((post - inc) * pow(mult, -1, 2 ** 128)) % 2 ** 128
    return {"bit_generator": "PCG64", "state": {"state": pre, "inc": inc}, "has_uint32": 0,
            "uinteger": 0}


def test_raw_stream_replays_numpy_generators():
    from tf_maddpg.envs.batched_mpe.env import seeded_generator
    from tf_maddpg.envs.batched_mpe.treasure import RawStream

    seeds = [0, 1, 99, 2 ** 40]
    stream = RawStream(len(seeds), block=16)
    gens = [seeded_generator(s) for s in seeds]
    for e, g in enumerate(gens):
        stream.reset_env(e, g)
    rng = np.random.default_rng(0)
    for _ in range(200):  # random interleavings, with refills of the small block
        stream.reserve(4)
        mask = rng.random(len(seeds)) < 0.7
        if rng.random() < 0.5:
            got = stream.doubles(mask)
            want = [g.random() if m else None for g, m in zip(gens, mask)]
        else:
            high = int(rng.choice([1, 2, 3, 5, 6]))
            got = stream.integers(high, mask)
            want = [int(g.integers(0, high)) if m else None for g, m in zip(gens, mask)]
        for e, w in enumerate(want):
            if w is not None:
                assert got[e] == w
    # Lemire's rejection: a draw whose low 32 bits are 0 is redrawn from the high half.
    state = _pcg64_state_whose_next_output_is(0xABCDEF1200000000)
    bitgen = np.random.PCG64()
    bitgen.state = state
    want = int(np.random.Generator(bitgen).integers(0, 3))
    bitgen.state = state
    stream = RawStream(1, block=4)
    stream.reset_env(0, np.random.Generator(bitgen))
    assert int(stream.integers(3, np.array([True]))[0]) == want == (0xABCDEF12 * 3) >> 32


def test_crypto_silent_messages_match_mpe2():
    # An all-zero Box message does not count in simple_crypto's rewards.
    rng = np.random.default_rng(8)

    def policy(env, obs, t):
        return [(rng.random((env.num_envs, 4), dtype=np.float32) if (t + i) % 3 else
                 np.zeros((env.num_envs, 4), np.float32)) for i in range(3)]

    run_episode("simple_crypto_v3", {"continuous_actions": True}, policy=policy)


# --- episodes that end early -------------------------------------------------------------


def _toward(dx, dy):
    """Discrete move toward (dx, dy) along the larger axis."""
    return np.where(np.abs(dx) > np.abs(dy), np.where(dx > 0, 2, 1), np.where(dy > 0, 4, 3))


def test_spread_terminates_on_success_like_mpe2():
    def policy(env, obs, t):  # each (single) agent heads for its landmark
        return [_toward(obs[0][:, 4], obs[0][:, 5])]

    env, ended = run_episode("simple_spread_v3", {"N": 1, "terminate_on_success": True,
                                                  "max_cycles": 40},
                             seeds=(1, 2, 3, 4), policy=policy, extra_steps=3)
    assert ended >= 1
    assert env.alive.sum() == 0


def test_tag_terminates_on_success_like_mpe2():
    rng = np.random.default_rng(3)

    def policy(env, obs, t):  # adversaries chase the prey (the last other agent)
        acts = [_toward(o[:, -2], o[:, -1]) for o in obs[:-1]]
        return acts + [rng.integers(0, 5, env.num_envs)]

    _, ended = run_episode("simple_tag_v3", {"num_obstacles": 0, "terminate_on_success": True,
                                             "max_cycles": 50},
                           seeds=tuple(range(6)), policy=policy, extra_steps=3)
    assert ended >= 1


@pytest.mark.parametrize("scenario,n", [("simple_formation_v1", 4), ("simple_line_v1", 3)])
def test_shape_scenarios_terminate_on_success_like_mpe2(scenario, n):
    def setup(env, mpe):
        # Put every agent of environment 1 on its target slot, in both worlds.
        raw = mpe[1].unwrapped
        world = raw.world
        if scenario == "simple_line_v1":
            slots = np.array(raw.scenario._expected_positions)
        else:
            lm = world.landmarks[0].state.p_pos
            angles = 0.3 + np.arange(n) * (2 * np.pi / n)
            slots = lm + 0.5 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        for i, agent in enumerate(world.agents):
            agent.state.p_pos = slots[i].copy()
            env.world.pos[1, i] = slots[i]

    def policy(env, obs, t):
        return [np.zeros(env.num_envs, dtype=np.int64)] * env.num_agents

    env, ended = run_episode(scenario, {"N": n, "terminate_on_success": True}, policy=policy,
                             setup=setup)
    assert ended == 1
    assert env.steps.tolist() == [25, 1, 25]


def test_curriculum_stage_requests_act_like_mpe2():
    seeds = (4, 5)
    rng = np.random.default_rng(0)
    for scenario in ("simple_spread_v3", "simple_tag_v3"):
        env = make_batched_env(scenario, len(seeds), curriculum=True)
        mpe, _ = _mpe2_envs(scenario, seeds, {"curriculum": True})
        # mpe2 1.1.1 ignores stage changes (its BaseScenario setter is a no-op):
        # the batched env must too.
        env.set_curriculum_stage(1)
        env.advance_curriculum()
        for m in mpe:
            m.unwrapped.set_curriculum_stage(1)
            m.unwrapped.advance_curriculum()
        env.reset(list(seeds))
        for m, s in zip(mpe, seeds):
            m.reset(seed=s)
        assert env.curriculum_stage == mpe[0].unwrapped.curriculum_stage == 0
        for t in range(10):
            acts = [rng.integers(0, 5, len(seeds)) for _ in env.agents]
            obs, rew, _, _ = env.step(acts)
            for k, m in enumerate(mpe):
                o, r, _, _, _ = m.step({a: int(acts[i][k]) for i, a in enumerate(env.agents)})
                _compare_obs(env, obs, o, k, f"{scenario} curriculum step {t}")
                for i, a in enumerate(env.agents):
                    np.testing.assert_allclose(rew[i][k], r[a], **TOL)


def test_partial_reset_matches_a_fresh_mpe2_episode():
    for scenario in ("collect_treasure_v1", "simple_spread_v3"):
        seeds = [3, 4, 5]
        env = make_batched_env(scenario, 3, max_cycles=12)
        mpe, _ = _mpe2_envs(scenario, seeds, {"max_cycles": 12})
        env.reset(seeds)
        rng = np.random.default_rng(9)
        for t in range(8):
            if t == 4:  # restart environment 1 with a new seed, mid-episode
                obs = env.reset([77], env_ids=[1])
                o, _ = mpe[1].reset(seed=77)
                _compare_obs(env, obs, o, 1, f"{scenario} partial reset")
            acts = [rng.integers(0, n, 3) for n in env.action_sizes]
            obs, rew, _, _ = env.step(acts)
            for k, m in enumerate(mpe):
                o, r, _, _, _ = m.step({a: int(acts[i][k]) for i, a in enumerate(env.agents)})
                _compare_obs(env, obs, o, k, f"{scenario} step {t}")
                for i, a in enumerate(env.agents):
                    np.testing.assert_allclose(rew[i][k], r[a], **TOL)
        assert env.steps.tolist() == [8, 4, 8]


def test_assignment_dp_finds_scipys_optimum():
    from scipy.optimize import linear_sum_assignment

    from tf_maddpg.envs.batched_mpe.formation import _AssignmentDP

    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 5, 7):
        cost = rng.random((50, n, n)) * 3
        cols = _AssignmentDP(n).solve(cost)
        for c, d in zip(cols, cost):
            assert sorted(c) == list(range(n))
            best = d[linear_sum_assignment(d)].sum()
            np.testing.assert_allclose(d[np.arange(n), c].sum(), best, rtol=1e-12)


# --- errors -------------------------------------------------------------------------------


def test_errors_are_clear():
    with pytest.raises(ValueError, match="unknown mpe2 scenario.*simple_spread_v3"):
        make_batched_env("simple_sprad_v3", 2)
    with pytest.raises(ValueError, match=r"unknown option.*\['M'\].*valid options.*local_ratio"):
        make_batched_env("simple_spread_v3", 2, M=3)
    with pytest.raises(ValueError, match="local_ratio"):
        make_batched_env("simple_reference_v3", 2, local_ratio=1.5)
    with pytest.raises(ValueError, match="num_agent_neighbors"):
        make_batched_env("simple_tag_v3", 2, num_agent_neighbors=0)
    with pytest.raises(ValueError, match="render_mode"):
        make_batched_env("simple_v3", 2, render_mode="human")
    with pytest.raises(ValueError, match="num_envs"):
        make_batched_env("simple_v3", 0)
    env = make_batched_env("mpe2.simple_adversary_v3", 2)
    assert env.scenario_name == "simple_adversary_v3"
    with pytest.raises(RuntimeError, match="reset"):
        env.step([np.zeros(2, int)] * 3)
    with pytest.raises(ValueError, match="expected 2 seeds, got 3"):
        env.reset([1, 2, 3])
    with pytest.raises(ValueError, match="non-negative"):
        env.reset([1, -2])
    env.reset([1, 2])
    with pytest.raises(ValueError, match="list of 3 action arrays"):
        env.step([np.zeros(2, int)] * 2)
    with pytest.raises(ValueError, match=r"agent 'agent_0'.*shape \(2,\).*got \(3,\)"):
        env.step([np.zeros(2, int), np.zeros(3, int), np.zeros(2, int)])
    with pytest.raises(ValueError, match="integers"):
        env.step([np.zeros(2)] * 3)
    with pytest.raises(ValueError, match="out of range.*agent_1"):
        env.step([np.zeros(2, int), np.zeros(2, int), np.array([0, 5])])
    cont = make_batched_env("simple_adversary_v3", 2, continuous_actions=True)
    cont.reset([0, 1])
    with pytest.raises(ValueError, match=r"adversary_0.*shape \(2, 5\)"):
        cont.step([np.zeros((2, 4))] + [np.zeros((2, 5))] * 2)
    with pytest.raises(ValueError, match="exactly the agents"):
        cont.step({"adversary_0": np.zeros((2, 5))})

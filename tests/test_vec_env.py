"""VecEnv: its rows are the single environments', in this process or in workers."""

import numpy as np
import pytest

from tf_maddpg import EnvAdapter, MADDPGConfig, MultiAgentPolicy, make_actor, make_env, train
from tf_maddpg.training import evaluate
from tf_maddpg.envs import ScenarioFactory, VecEnv
from toy_envs import LeavingEnv


def leaving_adapter():
    return EnvAdapter(LeavingEnv(leave_at=2, max_steps=4))


class BrokenStepEnv(LeavingEnv):
    def step(self, actions):
        raise ArithmeticError("this env cannot step")


def broken_adapter():
    return EnvAdapter(BrokenStepEnv())


def failing_factory():
    raise OSError("no such environment here")


def random_actions(env, rng, rows):
    actions = np.zeros((rows, env.action_width), np.float32)
    for spec, cols in zip(env.specs, env.action_slices):
        if spec.discrete:
            actions[np.arange(rows), cols.start + rng.integers(spec.action_dim, size=rows)] = 1
        else:
            actions[:, cols] = rng.uniform(-1.5, 1.5, (rows, spec.action_dim))
    return actions


@pytest.mark.parametrize("workers", [0, 2])
def test_rows_are_the_single_environments(workers):
    factory = ScenarioFactory("simple_spread_v3", max_cycles=6, env_kwargs=(("N", 2),))
    singles = [factory() for _ in range(3)]
    rng = np.random.default_rng(0)
    with VecEnv(factory, 3, workers) as vec:
        obs, alive = vec.reset([11, 12, 13])
        np.testing.assert_array_equal(obs, [e.reset_packed(seed=s) for e, s in
                                            zip(singles, (11, 12, 13))])
        assert alive.all()
        for _ in range(6):
            actions = random_actions(vec, rng, 3)
            step = vec.step(actions)
            for k, env in enumerate(singles):
                expected = env.step_packed(actions[k])
                for got, want in zip(step, expected):
                    np.testing.assert_array_equal(got[k], want)
        assert not step.alive.any() and step.truncated.all()


@pytest.mark.parametrize("workers", [0, 2])
def test_environments_that_sit_out_or_finish_are_zero_rows(workers):
    with VecEnv(leaving_adapter, 3, workers) as vec:
        obs, alive = vec.reset([0, 1])  # the third environment sits this episode out
        assert alive.tolist() == [[True] * 3, [True] * 3, [False] * 3]
        assert not obs[2].any()
        rng = np.random.default_rng(1)
        step = vec.step(random_actions(vec, rng, 3))
        step = vec.step(random_actions(vec, rng, 3))  # runner leaves at step 2
        assert step.alive[:2].tolist() == [[True, False, True]] * 2
        assert step.terminated[:2, 1].all() and not step.alive[2].any()
        for _ in range(2):
            step = vec.step(random_actions(vec, rng, 3))
        assert not step.alive.any()
        step = vec.step(random_actions(vec, rng, 3))  # finished rows stay zeros
        assert not step.obs.any() and not step.rewards.any()


def test_a_worker_error_is_raised_here_with_its_traceback():
    with VecEnv(broken_adapter, 2, 2) as vec:
        vec.reset([0, 1])
        with pytest.raises(RuntimeError, match="(?s)an environment worker failed.*cannot step"):
            vec.step(np.zeros((2, vec.action_width), np.float32))
    with pytest.raises(OSError, match="no such environment"):
        VecEnv(failing_factory, 2, 1)  # the template is built here first


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="workers must be between 0 and num_envs"):
        VecEnv(leaving_adapter, 2, 3)
    with pytest.raises(ValueError, match="3 seeds for 2 environments"):
        VecEnv(leaving_adapter, 2).reset([0, 1, 2])


def test_batched_evaluation_scores_the_same_episodes():
    env = make_env("simple_adversary_v3")
    actors = [make_actor(s, (16,)) for s in env.specs]
    policy = MultiAgentPolicy(env.specs, actors)
    seeds = list(range(5, 12))
    single = evaluate(policy, VecEnv.of(env), seeds, max_steps=25)
    with VecEnv(ScenarioFactory("simple_adversary_v3"), 3) as vec:
        batched = evaluate(policy, vec, seeds, max_steps=25)
    np.testing.assert_allclose(batched, single, rtol=1e-6)  # VecEnv's rewards are float32


TINY = dict(batch_size=8, buffer_size=64, minimal_size=8, update_interval=3, hidden_sizes=(8,),
            episode_length=5, eval_interval=4, eval_episodes=3)


def test_workers_train_exactly_as_in_process_and_updates_count_env_steps():
    config = MADDPGConfig(num_episodes=8, num_envs=3, **TINY)
    here = train(config, leaving_adapter, verbose=False)
    there = train(config.replace(env_workers=2), leaving_adapter, verbose=False)
    assert [r["episode"] for r in here.history] == [4, 8]  # rounds stop at evaluations
    # LeavingEnv: 4 steps an episode. An update every 3 env steps once 8 are stored.
    assert here.env_steps == 32 and here.num_updates == 32 // 3 - 8 // 3 + (8 % 3 == 0)
    assert there.env_steps == here.env_steps and there.num_updates == here.num_updates
    strip = [{k: v for k, v in r.items() if k != "wall_s"} for r in here.history]
    assert [{k: v for k, v in r.items() if k != "wall_s"} for r in there.history] == strip
    for a, b in zip(here.learner.actors[0].get_weights(), there.learner.actors[0].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_script_without_a_main_guard_is_told_what_to_do(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text("from tf_maddpg.envs import ScenarioFactory, VecEnv\n"
                      "VecEnv(ScenarioFactory('simple_v3'), 2, 1).close()\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    assert "put the code that starts training under 'if __name__ == \"__main__\":'" in done.stderr

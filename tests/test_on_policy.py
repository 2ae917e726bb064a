"""The on-policy loop (IPPO, MAPPO, HAPPO): what a rollout holds, that the acting policy
is the learner's, exact resume, every scenario, the command line, evaluate and export."""

import json
import os

import numpy as np
import pytest

from tf_maddpg import train
from tf_maddpg.algorithms.happo.config import HAPPOConfig
from tf_maddpg.algorithms.ippo.config import IPPOConfig
from tf_maddpg.algorithms.mappo.config import MAPPOConfig
from tf_maddpg.algorithms.ppo.learner import PPOLearner
from tf_maddpg.envs import known_scenarios
from test_catalogue import cli  # tf-maddpg in this process: no TensorFlow import per call
from test_checkpoint import CtrlCEnv, without_wall_time
from test_loop import RecordingEnv

TINY = dict(num_envs=2, episode_length=5, hidden_sizes=(8,), epochs=2, num_minibatches=2,
            num_episodes=8, eval_interval=4, eval_episodes=2, checkpoint_interval=2)
CLASSES = {"ippo": IPPOConfig, "mappo": MAPPOConfig, "happo": HAPPOConfig}


def test_the_rollout_holds_what_the_environments_played(monkeypatch):
    """Observations, actions (the Box sample whose clip the env received), rewards,
    termination and truncation, alive masks: step by step against the env's own log."""
    RecordingEnv.log = []
    rollouts = []
    update = PPOLearner.update_packed

    def record(self, rollout):
        rollouts.append({k: rollout.valid(k).copy() for k in
                         ("obs", "actions", "next_obs", "rewards", "terminated", "truncated",
                          "alive")})
        return update(self, rollout)

    monkeypatch.setattr(PPOLearner, "update_packed", record)
    # init_std 2 (of half the width): most Box samples fall outside the bounds, so a
    # rollout that stored the clipped action (the env's) in place of the sample fails.
    config = MAPPOConfig(**{**TINY, "num_envs": 1, "num_episodes": 3, "eval_interval": 100,
                            "init_std": 2.0})
    result = train(config, RecordingEnv, verbose=False)
    specs = result.learner.specs
    names = [s.name for s in specs]
    obs_cols = np.cumsum([0] + [s.obs_dim for s in specs])
    act_cols = np.cumsum([0] + [s.action_dim for s in specs])
    steps = [(r, t) for r in rollouts for t in range(len(r["obs"]))]
    assert len(steps) == len(RecordingEnv.log) == result.env_steps == 15
    outside = 0
    for (rollout, t), entry in zip(steps, RecordingEnv.log):
        for i, (name, spec) in enumerate(zip(names, specs)):
            alive = name in entry["actions"]
            assert rollout["alive"][t, 0, i] == alive
            if not alive:
                continue
            np.testing.assert_allclose(rollout["obs"][t, 0, obs_cols[i]:obs_cols[i + 1]],
                                       entry["obs"][name])
            np.testing.assert_allclose(rollout["next_obs"][t, 0, obs_cols[i]:obs_cols[i + 1]],
                                       entry["next_obs"][name])
            action = rollout["actions"][t, 0, act_cols[i]:act_cols[i + 1]]
            if spec.discrete:
                assert action.argmax() == entry["actions"][name] and action.sum() == 1
            else:
                np.testing.assert_allclose(np.clip(action, -1, 1), entry["actions"][name])
                outside += int((np.abs(action) > 1).sum())
            assert rollout["rewards"][t, 0, i] == pytest.approx(entry["rewards"][name])
            assert rollout["terminated"][t, 0, i] == entry["terminated"][name]
            assert rollout["truncated"][t, 0, i] == entry["truncated"][name]
    assert outside > 0, "the rollout must keep the unclipped Box sample"


def test_the_acting_policy_acts_with_the_new_weights_after_every_update(monkeypatch):
    seen = []
    update = PPOLearner.update_packed

    def check(self, rollout):
        losses = update(self, rollout)
        obs = np.random.default_rng(len(seen)).normal(size=(3, self.obs_width)).astype(np.float32)
        parts = np.split(obs, np.cumsum([s.obs_dim for s in self.specs])[:-1], axis=1)
        keras_out = np.concatenate([m(p).numpy() for m, p in zip(self._means, parts)], axis=1)
        seen.append((keras_out, obs))
        return losses

    monkeypatch.setattr(PPOLearner, "update_packed", check)
    result = train(MAPPOConfig(**TINY), RecordingEnv, verbose=False)
    assert len(seen) == result.num_updates == 4
    for keras_out, obs in seen[-1:]:
        policy_out, _ = result.policy.outputs_packed(obs)
        np.testing.assert_allclose(policy_out, keras_out, atol=1e-6)
    # And the weights did change between the first update and the last.
    assert np.abs(seen[0][0] - seen[-1][0]).max() > 1e-4


def test_the_loop_runs_numpys_blas_on_one_thread_and_gives_it_back(monkeypatch):
    # OpenBLAS's threads spin on the cores the update needs (docs/benchmarks.md, "BLAS
    # threads"): the rounds run with one, and the user's process gets its own back.
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    during = []
    update = PPOLearner.update_packed

    def record(self, rollout):
        during.append(blas_threads())
        return update(self, rollout)

    monkeypatch.setattr(PPOLearner, "update_packed", record)
    with threadpool_limits(limits=2, user_api="blas"):
        assert blas_threads() == {2}
        train(IPPOConfig(**{**TINY, "num_episodes": 4}), RecordingEnv, verbose=False)
        assert blas_threads() == {2}
    assert during == [{1}, {1}]


# HAPPO's run in the default run; IPPO's and MAPPO's (PPOLearner, HAPPO's base) are extended.
@pytest.mark.parametrize("algo", [a if a == "happo" else pytest.param(a, marks=pytest.mark.extended)
                                  for a in sorted(CLASSES)])
def test_ctrl_c_and_resume_equal_an_unbroken_run(tmp_path, algo):
    import test_checkpoint
    config = CLASSES[algo](**TINY)
    unbroken = train(config, CtrlCEnv, out_dir=str(tmp_path / "a"), verbose=False)
    test_checkpoint.CtrlCEnv.steps, test_checkpoint.CtrlCEnv.press_at = 0, (17,)
    try:
        stopped = train(config, CtrlCEnv, out_dir=str(tmp_path / "b"), verbose=False)
    finally:
        test_checkpoint.CtrlCEnv.press_at = ()
    assert stopped.interrupted and stopped.episodes < 8
    assert not any(n.startswith("buffer") for n in os.listdir(tmp_path / "b" / "checkpoints"))
    resumed = train(config, CtrlCEnv, out_dir=str(tmp_path / "b"), verbose=False, resume=True)
    assert (resumed.episodes, resumed.env_steps) == (8, unbroken.env_steps)
    assert without_wall_time(resumed.history) == without_wall_time(unbroken.history)
    for kind in ("actors", "critics"):
        for a, b in zip(getattr(unbroken.learner, kind), getattr(resumed.learner, kind)):
            for x, y in zip(a.get_weights(), b.get_weights()):
                np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(unbroken.learner.value_norm.mean.numpy(),
                                  resumed.learner.value_norm.mean.numpy())


CASES = [(name, list(CLASSES)[k % 3], False) for k, name in enumerate(known_scenarios())]
CASES += [("simple_spread_v3", "mappo", True), ("simple_speaker_listener_v4", "happo", True),
          ("simple_world_comm_v3", "ippo", True)]
# In the default run: the scenarios that tests/test_scenarios.py's default run leaves out,
# each algorithm and Box actions once; the other cases are extended.
DEFAULT = {("simple_adversary_v3", "mappo", False), ("simple_formation_v1", "ippo", False),
           ("simple_line_v1", "mappo", False), ("simple_tag_v3", "ippo", False),
           ("simple_world_comm_v3", "happo", False), ("simple_speaker_listener_v4", "happo", True)}


@pytest.mark.parametrize("name,algo,continuous",
                         [c if c in DEFAULT else pytest.param(*c, marks=pytest.mark.extended)
                          for c in CASES],
                         ids=[f"{n}-{a}-{'box' if b else 'discrete'}" for n, a, b in CASES])
def test_every_scenario_trains(name, algo, continuous):
    config = CLASSES[algo](**{**TINY, "num_episodes": 4, "checkpoint_interval": 4})
    result = train(config, name, env_kwargs={"continuous_actions": continuous}, verbose=False)
    assert result.num_updates == 2 and len(result.history) == 1
    assert all(np.isfinite(v) for v in result.history[0].values()), result.history[0]


def test_happo_draws_a_new_agent_order_at_every_update(monkeypatch):
    """HAPPO's orders over a run's updates: permutations of every agent, not all the same
    (a fixed order passes every exact test of one update)."""
    from tf_maddpg.algorithms.happo.learner import HAPPOLearner

    orders = []
    update = HAPPOLearner.update_packed

    def record(self, rollout):
        losses = update(self, rollout)
        orders.append(tuple(self.last_order))
        return losses

    monkeypatch.setattr(HAPPOLearner, "update_packed", record)
    config = HAPPOConfig(**{**TINY, "num_episodes": 16, "eval_interval": 100})
    result = train(config, "simple_spread_v3", verbose=False)
    assert len(orders) == result.num_updates == 8
    assert all(sorted(order) == [0, 1, 2] for order in orders)
    assert len(set(orders)) > 1, orders


def test_minibatches_are_shuffled_and_each_epoch_sees_every_row():
    """Two epochs of two minibatches: each epoch covers every row once, in an order
    that is not the rollout's and differs between the epochs."""
    from tf_maddpg.envs.specs import AgentSpec

    specs = (AgentSpec("agent_0", 3, 3, True), AgentSpec("agent_1", 3, 3, True))
    learner = PPOLearner(specs, MAPPOConfig(**TINY))
    rows_count = 40
    rng = np.random.default_rng(0)
    n = len(learner.specs)
    rows = {"obs": rng.normal(size=(rows_count, learner.obs_width)),
            "actions": np.zeros((rows_count, learner.action_width)),
            "old_log_probs": np.zeros((rows_count, n)),
            "advantages": rng.normal(size=(rows_count, n)),
            "returns": np.zeros((rows_count, n)), "old_values": np.zeros((rows_count, n)),
            "mask": np.ones((rows_count, n)), "factor": np.ones((rows_count, n))}
    rows = {k: v.astype(np.float32) for k, v in rows.items()}
    plans = []  # what train's one compiled call runs: the minibatches of every epoch
    plan = learner.minibatch_plan
    learner.minibatch_plan = lambda *a, **k: plans.append(plan(*a, **k)) or plans[-1]
    learner.train(rows)
    index, valid = plans[0]
    seen = [index[s][valid[s] > 0] for s in range(len(index))]
    assert len(plans) == 1 and len(seen) == 4  # epochs x minibatches
    epochs = [np.concatenate(seen[:2]), np.concatenate(seen[2:])]
    for order in epochs:
        assert sorted(order) == list(range(rows_count))
        assert list(order) != list(range(rows_count))
    assert list(epochs[0]) != list(epochs[1])


def test_the_plan_draws_each_epoch_as_its_own_draw_would():
    # minibatch_plan makes every epoch's draw in one compiled call: the orders and the
    # generator's state after must be those of one eager draw per epoch (runs resumed
    # across the change, and every seed's metrics, stay the same).
    from tf_maddpg.envs.specs import AgentSpec

    specs = [AgentSpec(f"agent_{i}", 4, 3, True) for i in range(2)]
    config = MAPPOConfig(**TINY)
    planned, drawn = PPOLearner(specs, config), PPOLearner(specs, config)
    for count in (10, 7, 1, 10):
        index, valid = planned.minibatch_plan(count)
        splits = [m for _ in range(config.epochs) for m in drawn.minibatches(count)]
        assert len(index) == len(splits)
        for row, mask, split in zip(index, valid, splits):
            np.testing.assert_array_equal(row[:len(split)], split)
            assert mask[:len(split)].all() and not mask[len(split):].any()
    np.testing.assert_array_equal(planned.generator.state, drawn.generator.state)


@pytest.mark.parametrize("jit_compile,count", [(False, 41), (True, 41), (True, 7)])
def test_the_one_call_of_an_update_takes_the_steps_of_its_minibatches(jit_compile, count,
                                                                      monkeypatch):
    """train runs every epoch and minibatch in one compiled call (XLA with
    jit_compile): the weights and losses it ends with are those of ``_step`` called
    on each minibatch of its plan in turn. 41 rows: minibatches of 21 and 20 (the
    shorter one padded inside the call); 7 rows, fewer than a full round's 10:
    padded to a full round's rows and minibatches of 5."""
    import keras

    from tf_maddpg.envs.specs import AgentSpec

    import tf_maddpg.algorithms.ppo.learner as learner_module

    monkeypatch.setattr(learner_module, "XLA_MIN_ROWS", 0)  # XLA even for these few rows
    specs = (AgentSpec("agent_0", 3, 3, True), AgentSpec("agent_1", 3, 3, True))
    config = MAPPOConfig(**{**TINY, "jit_compile": jit_compile})

    def build():
        keras.utils.set_random_seed(3)
        return PPOLearner(specs, config)

    fused, stepped = build(), build()
    rng = np.random.default_rng(1)
    n = len(specs)
    obs = rng.normal(size=(count, fused.obs_width)).astype(np.float32)
    actions = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=(count, n))].reshape(count, -1)
    rows = {"obs": obs, "actions": actions,
            "old_log_probs": fused._log_probs(obs, actions).numpy() + 0.05,
            "advantages": rng.normal(size=(count, n)), "returns": rng.normal(size=(count, n)),
            "old_values": rng.normal(size=(count, n)) * 0.1,
            "mask": (rng.random((count, n)) < 0.8).astype(np.float64),
            "factor": np.ones((count, n))}
    rows = {k: np.asarray(v, np.float32) for k, v in rows.items()}
    rows["mask"][0] = 1.0  # the row that pads a short minibatch: alive, so padding would count
    plans = []
    plan = fused.minibatch_plan
    fused.minibatch_plan = lambda *a, **k: plans.append(plan(*a, **k)) or plans[-1]
    losses = fused.train(rows)
    index, valid = plans[0]
    assert index.shape == (4, 21 if count == 41 else 5) and valid.sum() == 2 * count
    from tf_maddpg.algorithms.ppo.learner import MiniBatch

    sums = {}
    for s in range(len(index)):
        batch = MiniBatch(**{k: v[index[s][valid[s] > 0]] for k, v in rows.items()})
        for k, v in stepped._step(batch).items():
            sums[k] = sums.get(k, 0.0) + float(v)
    for k, v in sums.items():
        assert losses[k] == pytest.approx(v / len(index), abs=1e-5), k
    for a, b in zip(fused.actors + fused.critics, stepped.actors + stepped.critics):
        for x, y in zip(a.trainable_variables, b.trainable_variables):
            np.testing.assert_allclose(x.numpy(), y.numpy(), atol=1e-5, err_msg=x.path)
    for c in range(len(fused.critic_groups)):
        np.testing.assert_allclose([float(x) for x in fused.value_norm.stats(c)],
                                   [float(x) for x in stepped.value_norm.stats(c)], rtol=1e-6)


def test_happo_refuses_shared_parameters():
    with pytest.raises(ValueError, match="share_parameters.*HAPPO"):
        HAPPOConfig(share_parameters=True)


@pytest.mark.parametrize("scenario,algo,agent,obs_dim", [
    pytest.param("simple_speaker_listener_v4", "happo", "listener_0", 11,
                 marks=pytest.mark.extended),
    ("simple_spread_v3", "mappo", "agent_1", 18)])  # shared parameters: agent ids in the files
def test_train_evaluate_and_export_from_the_command_line(tmp_path, capsys, scenario, algo,
                                                         agent, obs_dim):
    out = tmp_path / "run"
    status, _, err = cli(capsys, "train", scenario, "--algo", algo, "--episodes", "8",
                         "--num-envs", "4", "--eval-interval", "8", "--eval-episodes", "2",
                         "--hidden-sizes", "8", "--epochs", "1", "--out", out, "--quiet")
    assert status == 0, err
    saved = json.loads((out / "config.json").read_text())
    assert saved["algo"] == algo and saved["epochs"] == 1 and saved["num_envs"] == 4
    status, evaluated, err = cli(capsys, "evaluate", out, "--episodes", "3")
    assert status == 0, err
    assert agent in evaluated
    status, _, err = cli(capsys, "export", out, "--out", tmp_path / "exported")
    assert status == 0, err
    import tensorflow as tf
    actor = tf.saved_model.load(str(tmp_path / "exported" / agent))
    action = actor.serving_default(tf.zeros([2, obs_dim]))["action"].numpy()
    assert action.shape == (2,) and action.dtype == np.int64


def test_a_non_finite_reward_is_refused_with_the_agents_name():
    from tf_maddpg.envs.specs import AgentSpec
    from tf_maddpg.storage.rollout import Rollout

    rollout = Rollout([AgentSpec("walker", 2, 2, True), AgentSpec("runner", 2, 2, True)], 3, 2)
    zeros = np.zeros((2, 4), np.float32)
    with pytest.raises(ValueError, match="agent 'runner' got a reward of nan in environment 1"):
        rollout.add(obs=zeros, actions=zeros, next_obs=zeros,
                    rewards=np.array([[0.0, 0.0], [0.0, np.nan]]),
                    terminated=np.zeros((2, 2), bool), truncated=np.zeros((2, 2), bool),
                    alive=np.ones((2, 2), bool))


@pytest.mark.parametrize("scenario,kwargs,algo", [
    ("simple_spread_v3", {}, "mappo"),  # Discrete, one shared actor with agent ids
    ("simple_speaker_listener_v4", {"continuous_actions": True}, "happo")])  # Box, own actors
def test_the_numpy_policy_acts_as_the_keras_actors_and_takes_each_update(scenario, kwargs,
                                                                          algo):
    """Acting runs the actors' layers (agent ids, LayerNorms, Dense) in NumPy on a copy of
    their weights: its outputs are the compiled actors' to float rounding, and after an
    update the loop's policy acts with the new weights."""
    from tf_maddpg.algorithms.ppo.policy import StochasticPolicy
    from tf_maddpg.algorithms.registry import ALGORITHMS
    from tf_maddpg.envs.batched_mpe.vec import BatchedVecEnv
    from tf_maddpg.runs.checkpoint import Progress
    from tf_maddpg.storage.rollout import Rollout
    from tf_maddpg.training.updater import Updater

    config = CLASSES[algo](**{**TINY, "num_envs": 4})
    env = BatchedVecEnv(scenario, 4, 5, kwargs)
    learner = ALGORITHMS[algo].make_learner(env.specs, config)
    policy = StochasticPolicy(env.specs, learner.actors, rng=0)
    graph = StochasticPolicy(env.specs, learner.actors, backend="graph")
    assert policy.backend == "numpy"
    rollout = Rollout(env.specs, 5, 4)
    obs, alive = env.reset([0, 1, 2, 3])
    first_obs = obs
    for _ in range(5):
        env_actions, actions = policy.sample(obs)
        step = env.step(env_actions)
        rollout.add(obs=obs, actions=actions, next_obs=step.obs, rewards=step.rewards,
                    terminated=step.terminated, truncated=step.truncated, alive=alive)
        obs, alive = step.obs, step.alive
    before = policy.outputs_packed(first_obs)[0]
    np.testing.assert_allclose(before, graph.outputs_packed(first_obs)[0], atol=1e-5)
    Updater(learner, policy, Progress()).update(rollout)
    after, std = policy.outputs_packed(first_obs)
    want, want_std = graph.outputs_packed(first_obs)
    assert np.abs(after - before).max() > 1e-4  # the update moved the actors...
    np.testing.assert_allclose(after, want, atol=1e-5)  # ...and the policy acts with them
    np.testing.assert_allclose(std, want_std, atol=1e-6)

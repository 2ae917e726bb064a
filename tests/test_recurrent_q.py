"""Recurrent agents (``agent='gru'``) of IQL, VDN and QMIX: the GRU, the update against
float64 NumPy, the episode replay, the policy's hidden states, runs, resume and the CLI.

The exact checks (tests/numpy_recurrent.py is the network and its unroll in NumPy,
plugged into numpy_value_based's update):
  * the network's steps over a sequence (Keras's GRUCell, reset_after) to 1e-5;
  * on a batch of episodes with a terminated one, a truncated one, one that
    ends early (padded steps) and one where an agent leaves: the double-Q TD
    targets and the losses of VDN and QMIX, then one update's clipped
    gradients (finite differences) and new weights (a NumPy Adam step,
    targets, the actors of the shared network) to 1e-5.
"""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from gymnasium import spaces

import numpy_recurrent as rnn
import numpy_value_based as ref
from test_learner_exact import assert_grads_close, numpy_batch
from test_export import ROOT, run_without_tf_maddpg
from test_loop import RecordingEnv, expected_row
from test_value_based import (DiscreteLeavingEnv, assert_nets_close, comparable, numpy_nets,
                              numpy_stats, stepped_gradients, train_render_and_export)
from tf_maddpg import AgentSpec, train
from tf_maddpg.algorithms.iql import IQLConfig
from tf_maddpg.algorithms.qmix import QMIXConfig
from tf_maddpg.algorithms.registry import ALGORITHMS
from tf_maddpg.algorithms.value_based.factory import make_q_learner
from tf_maddpg.algorithms.value_based.learner import QLearner
from tf_maddpg.algorithms.value_based.policy import RecurrentEpsilonGreedyPolicy
from tf_maddpg.algorithms.value_based.recurrent import RecurrentQLearner
from tf_maddpg.algorithms.vdn import VDNConfig
from tf_maddpg.cli import main
from tf_maddpg.networks.recurrent import make_recurrent_q_network, unroll
from tf_maddpg.runs.folder import RunFolderError
from tf_maddpg.storage.episodes import EpisodeReplay
from tf_maddpg.training import api

T = 4  # steps of an episode in the exact tests
SPECS = (AgentSpec("adversary_0", 4, 3, True), AgentSpec("agent_0", 5, 3, True),
         AgentSpec("agent_1", 5, 3, True))
"""Two teams by name: adversary_0 alone (a network of its own), agent_0 and agent_1
sharing one (an id one-hot each)."""

CASES = {
    "vdn": VDNConfig(teams="by_name", team_reward="mean", max_grad_norm=0.5),
    "qmix": QMIXConfig(teams="by_name", mixing_embed_dim=3, hypernet_hidden=5,
                       max_grad_norm=0.5),
    "iql": IQLConfig(share_parameters=False, standardise_rewards=False, max_grad_norm=None),
}


def make_case(name, seed=0):
    config = CASES[name].replace(agent="gru", rnn_hidden_dim=4, episode_length=T,
                                 batch_size=4 * T, buffer_size=4 * T, minimal_size=4 * T,
                                 seed=seed, lr=1e-2, gamma=0.95, adam_epsilon=1e-3)
    keras.utils.set_random_seed(seed)
    learner = make_q_learner(SPECS, config)
    rng = np.random.default_rng(seed)
    for target in learner.target_q_networks + learner.target_mixers:  # apart, for double Q
        target.set_weights([w + rng.normal(scale=0.1, size=w.shape).astype(np.float32)
                            for w in target.get_weights()])
    return config, learner, episodes(rng)


def episodes(rng):
    """Four episodes of T steps through an EpisodeReplay, packed [4, T, width]:
    0 terminates at step 1 (then padding), 1 runs to its truncation, 2 loses agent_1
    (terminated at step 1), 3 ends early after step 2 (padding; it bootstraps)."""
    replay = EpisodeReplay(SPECS, 4 * T, T)
    layout = replay.layout
    acting_steps = [2, T, T, 3]
    replay.start_round(4)
    obs = rng.normal(size=(4, layout.obs_width)).astype(np.float32)
    alive = np.ones((4, 3), bool)
    for t in range(T):
        acting = np.array([t < n for n in acting_steps])
        next_obs = rng.normal(size=(4, layout.obs_width)).astype(np.float32)
        actions = np.concatenate([np.eye(3, dtype=np.float32)[rng.integers(3, size=4)]
                                  for _ in SPECS], axis=1)
        terminated = np.zeros((4, 3), np.float32)
        if t == 1:
            terminated[0] = 1.0
            terminated[2, 2] = 1.0
        rows = layout.pack(obs=obs, actions=actions, next_obs=next_obs,
                           rewards=rng.normal(size=(4, 3)), terminated=terminated, alive=alive)
        replay.add_step(rows, alive, acting)
        if t == 1:
            alive = alive.copy()
            alive[2, 2] = False
        obs = next_obs
    replay.end_round()
    assert len(replay) == 2 + T + T + 3
    return replay._episodes.copy()  # [4, T, width], in episode order


def split(learner, rows):
    return tf.nest.map_structure(lambda x: x.numpy(), learner.split_packed(tf.constant(rows)))


# --- The network -----------------------------------------------------------------------------

def test_the_gru_network_equals_numpy_over_a_sequence():
    keras.utils.set_random_seed(3)
    network = make_recurrent_q_network(6, 4, hidden_dim=5, id_dim=2)
    params = [w.astype(np.float64) for w in network.get_weights()]
    assert [w.shape for w in params] == [(8, 5), (5,), (5, 15), (5, 15), (2, 15), (5, 4), (4,)]
    obs = np.random.default_rng(0).normal(size=(7, 3, 8)).astype(np.float32)
    q, hidden = unroll(network, tf.constant(obs))
    q_np, hidden_np = rnn.unroll(params, obs.astype(np.float64))
    np.testing.assert_allclose(q.numpy(), q_np, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hidden.numpy(), hidden_np, rtol=1e-5, atol=1e-6)
    # The state matters (a recurrent network), and Keras's GRU layer agrees on the sequence.
    assert np.abs(hidden_np[1] - rnn.unroll(params, obs[1:2].astype(np.float64))[1][0]).max() > 1e-3
    layer = keras.layers.GRU(5, return_sequences=True, reset_after=True)
    layer.build((None, None, 5))
    layer.set_weights(network.get_layer("gru").get_weights())
    x = np.maximum(obs @ params[0] + params[1], 0.0).astype(np.float32)  # fc1
    np.testing.assert_allclose(layer(np.swapaxes(x, 0, 1)).numpy(), np.swapaxes(hidden_np, 0, 1),
                               rtol=1e-5, atol=1e-6)


def test_the_config_counts_in_transitions_and_refuses_what_is_not_whole_episodes():
    config = QMIXConfig(agent="gru")
    assert (config.batch_size // 25, config.buffer_size // 25) == (32, 5_000)
    for field, values in (("batch_size", dict(batch_size=810, minimal_size=1000)),
                          ("buffer_size", dict(buffer_size=125_010)),
                          ("minimal_size", dict(minimal_size=805))):
        with pytest.raises(ValueError, match=f"{field}=.*multiple of episode_length"):
            QMIXConfig(agent="gru", **values)
    with pytest.raises(ValueError, match="agent="):
        VDNConfig(agent="lstm")
    with pytest.raises(ValueError, match="async_update"):
        IQLConfig(agent="gru", async_update=True)
    with pytest.raises(ValueError, match="make_q_learner"):
        QLearner(SPECS, config)
    assert isinstance(make_q_learner(SPECS, config), RecurrentQLearner)


# --- The update against NumPy -------------------------------------------------------------

@pytest.mark.parametrize("case", ["vdn", "qmix"])
def test_td_targets_and_losses_equal_numpy(case):
    config, learner, rows = make_case(case)
    batch = learner.split_packed(tf.constant(rows))
    nets, nbatch, stats = numpy_nets(learner), numpy_batch(split(learner, rows)), \
        numpy_stats(learner)
    agent = rnn.Recurrent(T)
    rewards = ref.standardise(ref.team_rewards(nbatch, learner.mixed, config),
                              ref.mixed_alive(nbatch, learner.mixed), stats)
    expected = ref.td_targets(nets, nbatch, rewards, config, learner.groups, learner.mixed,
                              agent)
    targets = learner.td_targets(batch, learner.standardise_rewards(
        learner.team_rewards(batch), batch))
    for k, (y, y_np) in enumerate(zip(targets, expected)):
        np.testing.assert_allclose(y.numpy(), y_np, rtol=1e-5, atol=1e-5, err_msg=f"target {k}")
    losses = learner.td_losses(batch, targets)
    np.testing.assert_allclose([float(v) for v in losses],
                               ref.td_losses(nets, nbatch, expected, config, learner.groups,
                                             learner.mixed, agent), rtol=1e-5)
    # Row t * 4 + b is step t of episode b. Episode 0 terminated at step 1: no bootstrap there;
    # its padded steps and agent_1 after it left are masked out; episode 3's last step
    # (step 2, cut short) bootstraps.
    alive = np.stack(nbatch.alive, -1).reshape(T, 4, 3)
    assert not alive[2:, 0].any() and not alive[2:, 2, 2].any() and not alive[3, 3].any()
    y = expected[1].reshape(T, 4)
    r = rewards[1].reshape(T, 4)
    np.testing.assert_allclose(y[1, 0], r[1, 0])
    assert abs(y[2, 3] - r[2, 3]) > 1e-6 and abs(y[T - 1, 1] - r[T - 1, 1]) > 1e-6


@pytest.mark.parametrize("case", ["vdn", "qmix", "iql"])
def test_one_update_equals_numpy_adam_and_target_update(case):
    config, learner, rows = make_case(case)
    before, stats = numpy_nets(learner), numpy_stats(learner)
    nbatch = numpy_batch(split(learner, rows))
    expected, expected_losses, expected_grads = ref.full_update(
        before, nbatch, config.replace(target_update_interval=1), learner, stats,
        agent=rnn.Recurrent(T))
    learner.num_updates.assign(config.target_update_interval - 1)  # this update moves the targets
    losses = learner.update_packed(rows)
    for i, spec in enumerate(SPECS):
        np.testing.assert_allclose(losses[f"loss/critic/{spec.name}"],
                                   expected_losses[learner._mixed_of[i]], rtol=1e-5)
    for u, (got, want) in enumerate(zip(stepped_gradients(learner), expected_grads)):
        assert_grads_close(got, want, f"unit {u}")
    assert_nets_close(learner, expected)
    moved = max(np.max(np.abs(a - b)) for a, b in zip(numpy_nets(learner)["q"][0],
                                                      before["q"][0]))
    assert moved > 1e-3


def test_the_update_traces_once():
    config, learner, rows = make_case("qmix")
    learner.update_packed(rows)
    learner.update_packed(rows[:2])
    assert learner._update_packed.experimental_get_tracing_count() == 1


# --- The policy ---------------------------------------------------------------------------------

def test_the_policy_steps_hidden_states_and_reset_zeroes_them():
    config, learner, _ = make_case("vdn")
    policy = ALGORITHMS["vdn"].make_policy(SPECS, learner.actors, config)
    assert isinstance(policy, RecurrentEpsilonGreedyPolicy)
    obs = np.random.default_rng(1).normal(size=(3, T, 14)).astype(np.float32)  # [B, T, obs]
    policy.reset(3)
    q = np.stack([policy.outputs_packed(obs[:, t]) for t in range(T)], 1)  # [B, T, 9]
    # Agent i's Q-values are its group's network unrolled with the id (the actor folds it in).
    params = numpy_nets(learner)["q"]
    for i, (group, m, cols) in enumerate([(0, None, slice(0, 4)), (1, 0, slice(4, 9)),
                                          (1, 1, slice(9, 14))]):
        x = obs[:, :, cols].swapaxes(0, 1).astype(np.float64)
        if m is not None:
            x = np.concatenate([x, np.broadcast_to(np.eye(2)[m], x.shape[:2] + (2,))], -1)
        np.testing.assert_allclose(q[:, :, 3 * i: 3 * i + 3],
                                   rnn.unroll(params[group], x)[0].swapaxes(0, 1),
                                   rtol=1e-5, atol=1e-5)
    policy.reset(3)
    np.testing.assert_allclose(policy.outputs_packed(obs[:, 0]), q[:, 0], rtol=1e-6)
    with pytest.raises(ValueError, match="reset"):
        policy.outputs_packed(obs[:2, 0])
    policy.explored_rows = 7
    policy.restore(policy.snapshot())
    assert policy.explored_rows == 7


# --- Runs --------------------------------------------------------------------------------------

TINY = dict(agent="gru", rnn_hidden_dim=8, num_episodes=4, episode_length=5, batch_size=10,
            buffer_size=50, minimal_size=10, update_interval=5, eval_interval=2,
            eval_episodes=2, checkpoint_interval=2, target_update_interval=3,
            epsilon_anneal_steps=30)


class DiscreteRecordingEnv(RecordingEnv):
    """RecordingEnv with Discrete(2) actions for ``runner`` (which still leaves at step 2)."""

    def __init__(self, leave_at=2, max_steps=5):
        super().__init__(leave_at, max_steps)
        self._action_spaces = {**self._action_spaces, "runner": spaces.Discrete(2)}


def test_the_episode_replay_holds_the_episodes_the_environment_played(monkeypatch):
    """5 episodes of 5 steps (runner leaves after step 2) in 6-step slots (one padded step)
    and a ring of 3 episodes: the 3 newest, row by row against the env's log."""
    RecordingEnv.log = []
    storages = []
    make_storage, loop = api.LOOPS["off_policy"]
    monkeypatch.setitem(api.LOOPS, "off_policy",
                        (lambda *a: storages.append(make_storage(*a)) or storages[-1], loop))
    config = QMIXConfig(**{**TINY, "num_episodes": 5, "episode_length": 6, "batch_size": 12,
                           "buffer_size": 18, "minimal_size": 12, "update_interval": 6,
                           "eval_interval": 100})
    result = train(config, DiscreteRecordingEnv, verbose=False)
    replay, log = storages[0], RecordingEnv.log
    assert isinstance(replay, EpisodeReplay) and len(log) == result.env_steps == 25
    assert result.num_updates > 0 and replay.num_episodes == 3 and len(replay) == 15
    names = [s.name for s in result.learner.specs]
    pointer = replay._episode_pointer  # the oldest stored episode: episode 3
    for k in range(3):
        stored = replay._episodes[(pointer + k) % 3]
        for t in range(5):
            np.testing.assert_allclose(stored[t], expected_row(replay.layout, names,
                                                               log[(2 + k) * 5 + t]),
                                       rtol=1e-6, atol=1e-7, err_msg=f"episode {3 + k} step {t}")
        assert not stored[5].any()  # padding
        assert replay.filled(stored).tolist() == [True] * 5 + [False]


def test_the_acting_policy_acts_with_the_learners_weights_after_every_update(monkeypatch):
    from tf_maddpg.training import updater as updater_module

    checks = []
    update = updater_module.Updater.update

    def update_and_compare(self, data):
        update(self, data)
        obs = np.random.default_rng(len(checks)).normal(size=(2, 54)).astype(np.float32)
        saved = self.policy.hidden
        self.policy.reset(2)
        acting = self.policy.outputs_packed(obs)
        self.policy.hidden = saved
        hidden = np.zeros((2, 8), np.float32)
        learner = self.learner
        ids = np.tile(np.eye(3, dtype=np.float32)[None], (2, 1, 1))
        network = np.concatenate([learner.q_networks[0]([np.concatenate(
            [obs[:, 18 * i: 18 * i + 18], ids[:, i]], 1), hidden])[0].numpy() for i in range(3)], 1)
        checks.append(np.max(np.abs(acting - network)))

    monkeypatch.setattr(updater_module.Updater, "update", update_and_compare)
    config = VDNConfig(**{**TINY, "num_episodes": 8, "eval_interval": 100})
    result = train(config, "simple_spread_v3", env_kwargs={"N": 3}, verbose=False)
    assert len(checks) == result.num_updates > 5 and max(checks) < 1e-5


@pytest.mark.parametrize("algo, scenario, num_envs", [
    ("qmix", "simple_spread_v3", 2),
    pytest.param("iql", DiscreteLeavingEnv, 1, marks=pytest.mark.extended)])
def test_a_resumed_run_equals_an_unbroken_one(tmp_path, algo, scenario, num_envs):
    config = ALGORITHMS[algo].config_class(**{**TINY, "num_episodes": 8, "num_envs": num_envs})
    kwargs = {"env_kwargs": {"N": 2}} if isinstance(scenario, str) else {}
    unbroken = train(config, scenario, out_dir=str(tmp_path / "a"), verbose=False, **kwargs)
    train(config.replace(num_episodes=4), scenario, out_dir=str(tmp_path / "b"), verbose=False,
          **kwargs)
    resumed = train(config, scenario, out_dir=str(tmp_path / "b"), verbose=False, resume=True,
                    **kwargs)
    assert (resumed.env_steps, resumed.num_updates) == (unbroken.env_steps, unbroken.num_updates)
    assert resumed.policy.explored_rows == unbroken.policy.explored_rows == unbroken.env_steps
    assert comparable(resumed.history) == comparable(unbroken.history)
    for a, b in zip(unbroken.learner.q_networks + unbroken.learner.target_q_networks
                    + unbroken.learner.mixers + unbroken.learner.actors,
                    resumed.learner.q_networks + resumed.learner.target_q_networks
                    + resumed.learner.mixers + resumed.learner.actors):
        for u, v in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_array_equal(u, v)
    assert int(resumed.learner.num_updates) == unbroken.num_updates > 3
    # A resume may not change the kind of agent.
    with pytest.raises(RunFolderError, match="agent"):
        train(config.replace(agent="mlp", num_episodes=10), scenario,
              out_dir=str(tmp_path / "b"), verbose=False, resume=True, **kwargs)


def test_qmix_gru_from_the_command_line_then_evaluate_render_and_export(capsys, tmp_path):
    out = tmp_path / "run"
    args = ["--agent", "gru", "--rnn-hidden-dim", "8", "--episodes", "4", "--eval-interval",
            "2", "--eval-episodes", "1", "--batch-size", "10", "--minimal-size", "10",
            "--buffer-size", "50", "--update-interval", "5", "--checkpoint-interval", "2",
            "--episode-length", "5", "--mixing-embed-dim", "4", "--num-envs", "2"]
    config = train_render_and_export(capsys, tmp_path, "simple_spread_v3", args)
    assert config["agent"] == "gru" and config["rnn_hidden_dim"] == 8
    # A resumable option that this algorithm's config lacks is named, not a TypeError.
    assert main(["train", "--resume", str(out), "--jit-compile", "true"]) == 2
    assert (f"--jit-compile is not an option of --algo qmix, the algorithm of {out}; remove it"
            in capsys.readouterr().err)
    metadata = json.loads((tmp_path / "exported" / "metadata.json").read_text())
    assert metadata["agents"][1]["hidden_state_dim"] == 8 and "hidden_state" in metadata
    served = tf.saved_model.load(str(tmp_path / "exported" / "agent_1"))
    actor = keras.models.load_model(str(out / "actors" / "agent_1.keras"))
    obs = np.random.default_rng(0).normal(size=(3, 4, 18)).astype(np.float32)
    hidden = tf.zeros([4, 8])
    keras_hidden = np.zeros((4, 8), np.float32)
    for t in range(3):  # an episode of 3 steps, the hidden state fed back
        out_t = served.serving_default(obs=tf.constant(obs[t]), hidden_state=hidden)
        q, keras_hidden = actor([obs[t], keras_hidden])
        np.testing.assert_allclose(out_t["logits"].numpy(), q.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(out_t["action"].numpy(), np.argmax(q.numpy(), -1))
        hidden = out_t["hidden_state"]
        keras_hidden = keras_hidden.numpy()
    assert os.path.isdir(out / "saved_model" / "agent_0")
    # The deployment example (TensorFlow alone) plays the episode that the library's
    # recurrent policy plays with the same actors: hidden states from zeros, fed back.
    from tf_maddpg.envs import VecEnv, make_env
    from tf_maddpg.runs.actors import load_actors
    from tf_maddpg.training.evaluation import play_episodes

    env = make_env("simple_spread_v3", max_cycles=5)
    actors = load_actors(env.specs, out / "actors")
    policy = ALGORITHMS["qmix"].make_policy(env.specs, actors, QMIXConfig(**{
        k: v for k, v in config.items() if k != "algo" and k != "hidden_sizes"}))
    expected = play_episodes(policy, VecEnv.of(env), [7], 5)[0]
    env.close()
    script = os.path.join(ROOT, "examples", "serve_exported_actor.py")
    code = "import runpy; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    proc = run_without_tf_maddpg(code, script, str(tmp_path / "exported"), "--seed", "7",
                                 "--max-cycles", "5")
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = dict(line.split(": ") for line in proc.stdout.strip().splitlines())
    np.testing.assert_allclose([float(v) for v in printed.values()], expected, atol=1e-3)

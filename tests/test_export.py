"""Exported actors: the same greedy actions, a fixed signature, and no tf_maddpg to run them."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_maddpg import AgentSpec, MultiAgentPolicy, make_actor, make_env
from tf_maddpg.export import export_actors, load_exported
from tf_maddpg.envs import VecEnv
from tf_maddpg.training import play_episodes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = (AgentSpec("disc", 8, 5, True), AgentSpec("box", 4, 2, False, (-1.0, 0.0), (1.0, 3.0)))

# Prepended to the code a subprocess runs: importing tf_maddpg or Keras fails
# there, as in a Python that has only TensorFlow. (A finder that raised would
# also break TensorFlow's own probe for Keras; a spec with no origin reads as
# "not installed" to that probe and fails on import.)
BLOCK_TF_MADDPG = """
import importlib.abc, importlib.machinery, sys
class _Blocked(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in ("tf_maddpg", "keras"):
            return importlib.machinery.ModuleSpec(name, self)
    def create_module(self, spec):
        raise ImportError(f"{spec.name} is blocked in this test")
    def exec_module(self, module):
        pass
sys.meta_path.insert(0, _Blocked())
"""


def run_without_tf_maddpg(code, *args, log_level="2"):
    """Runs ``code`` in an isolated Python (-I) where tf_maddpg and Keras cannot be imported
    (``log_level`` None: TF_CPP_MIN_LOG_LEVEL unset, as in a new user's shell)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    if log_level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = log_level
    return subprocess.run([sys.executable, "-I", "-c", BLOCK_TF_MADDPG + code, *args],
                          capture_output=True, text=True, env=env, timeout=300, cwd=ROOT,
                          check=False)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(0)
    actors = [make_actor(s, (16, 16)) for s in SPECS]
    out = tmp_path_factory.mktemp("exported")
    paths = export_actors(actors, SPECS, out, scenario="toy", env_kwargs={"size": 3})
    return actors, out, paths


def random_obs(batch, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(batch, s.obs_dim)).astype(np.float32) for s in SPECS]


def test_exported_actions_are_the_policys_greedy_actions(exported):
    actors, out, _ = exported
    obs = random_obs(64)
    disc, box = MultiAgentPolicy(SPECS, actors).act(obs, explore=False)
    loaded = load_exported(out)
    assert list(loaded) == ["disc", "box"]
    disc_out = loaded["disc"].serving_default(tf.constant(obs[0]))
    np.testing.assert_array_equal(disc_out["action"].numpy(), np.argmax(disc, axis=-1))
    np.testing.assert_allclose(disc_out["logits"].numpy(), actors[0](obs[0]).numpy(), rtol=1e-6)
    box_out = loaded["box"].serving_default(tf.constant(obs[1]))
    np.testing.assert_allclose(box_out["action"].numpy(), box, rtol=1e-6, atol=1e-7)


def test_signatures_take_float_obs_and_return_typed_actions(exported):
    _, out, paths = exported
    assert paths == [os.path.join(out, "disc"), os.path.join(out, "box")]
    expected = {"disc": {"action": (tf.int64, [None]), "logits": (tf.float32, [None, 5])},
                "box": {"action": (tf.float32, [None, 2])}}
    for spec, path in zip(SPECS, paths):
        signature = tf.saved_model.load(path).signatures["serving_default"]
        args, kwargs = signature.structured_input_signature
        assert args == ()
        assert kwargs == {"obs": tf.TensorSpec([None, spec.obs_dim], tf.float32, name="obs")}
        outputs = {k: (v.dtype, v.shape.as_list()) for k, v in signature.structured_outputs.items()}
        assert outputs == expected[spec.name]


def test_metadata_lists_the_agents_in_order(exported):
    _, out, _ = exported
    with open(out / "metadata.json") as f:
        metadata = json.load(f)
    assert metadata == {
        "format": "tf_maddpg.exported_actors/1", "scenario": "toy", "env_kwargs": {"size": 3},
        "signature": "serving_default",
        "agents": [
            {"name": "disc", "obs_dim": 8, "action_dim": 5, "action": "discrete",
             "low": None, "high": None},
            {"name": "box", "obs_dim": 4, "action_dim": 2, "action": "box",
             "low": [-1.0, 0.0], "high": [1.0, 3.0]}]}


def test_mismatched_actors_and_specs_are_rejected(tmp_path):
    actors = [make_actor(s, (4,)) for s in SPECS]
    with pytest.raises(ValueError, match="one actor per spec"):
        export_actors(actors[:1], SPECS, tmp_path)
    with pytest.raises(ValueError, match="agent 'disc' needs 8 -> 5"):
        export_actors(actors[::-1], SPECS, tmp_path)
    assert not os.listdir(tmp_path)


def test_a_tensorflow_only_python_runs_the_exported_actors(exported):
    actors, out, _ = exported
    obs = random_obs(3, seed=1)
    code = """
import numpy as np, tensorflow as tf
obs = np.load(sys.argv[2])
for name in ("disc", "box"):
    actor = tf.saved_model.load(sys.argv[1] + "/" + name)
    np.save(f"{sys.argv[3]}/{name}.npy", actor.serving_default(tf.constant(obs[name]))["action"])
assert not [m for m in sys.modules if m.split(".")[0] in ("tf_maddpg", "keras")]
"""
    np.savez(out / "obs.npz", disc=obs[0], box=obs[1])
    proc = run_without_tf_maddpg(code, str(out), str(out / "obs.npz"), str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    np.testing.assert_array_equal(np.load(out / "disc.npy"), np.argmax(actors[0](obs[0]), -1))
    np.testing.assert_allclose(np.load(out / "box.npy"), actors[1](obs[1]).numpy(), rtol=1e-6)


def test_serve_example_plays_simple_adversary_without_tf_maddpg(tmp_path):
    env = make_env("simple_adversary_v3", max_cycles=5)
    specs = env.specs
    assert [(s.name, s.obs_dim, s.action_dim, s.discrete) for s in specs] == [
        ("adversary_0", 8, 5, True), ("agent_0", 10, 5, True), ("agent_1", 10, 5, True)]
    keras.utils.set_random_seed(0)
    actors = [make_actor(s) for s in specs]
    expected = play_episodes(MultiAgentPolicy(specs, actors), VecEnv.of(env), [3], 5)[0]
    env.close()
    export_actors(actors, specs, tmp_path, "simple_adversary_v3")
    script = os.path.join(ROOT, "examples", "serve_exported_actor.py")
    code = "import runpy; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    proc = run_without_tf_maddpg(code, script, str(tmp_path), "--seed", "3", "--max-cycles", "5",
                                 log_level=None)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr == ""  # none of TensorFlow's startup lines, as the command line
    printed = dict(line.split(": ") for line in proc.stdout.strip().splitlines())
    assert list(printed) == ["return/adversary_0", "return/agent_0", "return/agent_1"]
    np.testing.assert_allclose([float(v) for v in printed.values()], expected, atol=1e-3)


def test_export_refuses_a_file_as_out_dir_and_options_that_are_not_json(tmp_path):
    actors = [make_actor(s, (4,)) for s in SPECS]
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file; export_actors writes a folder"):
        export_actors(actors, SPECS, tmp_path / "file")
    with pytest.raises(ValueError, match="env_kwargs must be JSON values"):
        export_actors(actors, SPECS, tmp_path / "out", env_kwargs={"f": object()})


def test_serve_example_builds_the_scenario_and_options_of_the_metadata(tmp_path):
    """An N=4 simple_spread_v3 export: the example reads N=4 and continuous actions from
    metadata.json (it used to build simple_adversary_v3 and crash)."""
    env = make_env("simple_spread_v3", max_cycles=4, N=4, continuous_actions=True)
    specs = env.specs
    keras.utils.set_random_seed(1)
    actors = [make_actor(s, (16,)) for s in specs]
    expected = play_episodes(MultiAgentPolicy(specs, actors), VecEnv.of(env), [2], 4)[0]
    env.close()
    export_actors(actors, specs, tmp_path, "simple_spread_v3",
                  env_kwargs={"N": 4, "continuous_actions": True})
    script = os.path.join(ROOT, "examples", "serve_exported_actor.py")
    code = "import runpy; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    proc = run_without_tf_maddpg(code, script, str(tmp_path), "--seed", "2", "--max-cycles", "4")
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = dict(line.split(": ") for line in proc.stdout.strip().splitlines())
    assert list(printed) == [f"return/agent_{i}" for i in range(4)]
    np.testing.assert_allclose([float(v) for v in printed.values()], expected, atol=1e-3)

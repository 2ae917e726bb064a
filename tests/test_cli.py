"""The tf-maddpg command line: every subcommand, its outputs, and its errors."""

import dataclasses
import glob
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_maddpg import MADDPGConfig
from tf_maddpg.algorithms.registry import ALGORITHMS
from tf_maddpg.cli import CommandError, config_from, main

FAST = ["--episodes", "4", "--eval-interval", "2", "--eval-episodes", "1", "--batch-size", "32",
        "--minimal-size", "32", "--update-interval", "10", "--hidden-sizes", "16", "16",
        "--checkpoint-interval", "2"]


def run(capsys, *argv):
    """Runs the command in-process; returns (exit status, stdout, stderr)."""
    try:
        status = main(list(argv))
    except SystemExit as exit_:  # argparse: --help and usage errors
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A short simple_adversary_v3 run made with the command line (subprocess: the real script)."""
    out = tmp_path_factory.mktemp("runs") / "adv"
    # The console script installed beside this Python (found even when the
    # environment's bin/ is not on PATH), else the one on PATH.
    script = os.path.join(os.path.dirname(sys.executable), "tf-maddpg")
    done = subprocess.run([script if os.path.exists(script) else "tf-maddpg", "train", "simple_adversary_v3", *FAST, "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out, done.stdout


@pytest.mark.parametrize("command", ["train", "evaluate", "export", "plot", "list-envs"])
def test_every_subcommand_has_help(capsys, command):
    status, out, _ = run(capsys, command, "--help")
    assert status == 0 and "usage: tf-maddpg " + command in out


def test_train_help_documents_every_config_field(capsys):
    """`train --help`: the run's options and fields; `train --algo NAME --help`: NAME's too."""
    _, out, _ = run(capsys, "train", "--help")
    assert "--algo {" + ",".join(ALGORITHMS) + "}" in out and "--env-arg KEY=VALUE" in out
    assert "--episodes" in out and "--resume" in out and "--config" in out
    for algorithm in ALGORITHMS.values():  # every algorithm's fields, with --algo NAME
        _, out, _ = run(capsys, "train", "--algo", algorithm.name, "--help")
        for field in dataclasses.fields(algorithm.config_class):
            assert "--" + field.name.replace("_", "-") in out
    _, out, _ = run(capsys, "train", "--algo", "matd3", "--help")
    assert "Soft target update rate" in out  # the field's docstring is its help


def test_train_help_needs_no_source_files(tmp_path):
    """A sourceless install (only .pyc files, as a frozen or compiled package ships) gives
    the same --help: the fields' help is their metadata, not docstrings read from .py."""
    import compileall
    import shutil

    import tf_maddpg

    package = tmp_path / "tf_maddpg"
    shutil.copytree(os.path.dirname(tf_maddpg.__file__), package,
                    ignore=shutil.ignore_patterns("__pycache__", "reference"))
    assert compileall.compile_dir(str(package), legacy=True, quiet=1)
    for source in package.rglob("*.py"):
        source.unlink()
    done = subprocess.run([sys.executable, "-c", "import sys; from tf_maddpg.cli import main; "
                           "sys.exit(main(['train', '--algo', 'matd3', '--help']))"],
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Soft target update rate" in done.stdout and "--policy-delay" in done.stdout
    assert not list(package.rglob("*.py"))


def test_list_envs_shows_agents_and_sizes(capsys):
    status, out, _ = run(capsys, "list-envs")
    assert status == 0
    line = next(line for line in out.splitlines() if line.startswith("simple_adversary_v3"))
    assert "adversary_0, agent_0, agent_1" in line and "8, 10, 10" in line and "5, 5, 5" in line
    assert "simple_reference_v3" in out and "50, 50" in out


def test_an_unknown_scenario_lists_the_known_ones(capsys):
    status, _, err = run(capsys, "train", "simple_adversry_v3")
    assert status == 2
    assert "unknown scenario 'simple_adversry_v3' (did you mean simple_adversary_v3?)" in err
    assert "simple_spread_v3" in err


def test_bad_config_options_are_refused_with_the_reason(capsys, tmp_path):
    status, _, err = run(capsys, "train", "simple_v3", "--no-such-field", "1")
    assert status == 2 and "unrecognized arguments: --no-such-field" in err
    status, _, err = run(capsys, "train", "simple_v3", "--gamma", "2")
    assert status == 2 and "--gamma 2.0 is invalid: expected a finite float in [0, 1]" in err
    status, _, err = run(capsys, "train", "simple_v3", "--update-order", "random")
    assert status == 2 and "invalid choice: 'random'" in err
    config = tmp_path / "c.yaml"
    config.write_text("gama: 0.9\n")
    status, _, err = run(capsys, "train", "simple_v3", "--config", str(config))
    assert status == 2 and "unknown config field 'gama' (did you mean gamma?)" in err


def test_threads_gives_numpys_blas_as_many_threads_but_keeps_the_users(capsys, monkeypatch):
    # OpenBLAS's threads spin while they wait: runs that share the cores must not start
    # one per core each (set before NumPy loads in a fresh process, and for the
    # processes a run starts).
    from tf_maddpg.runtime import BLAS_THREAD_VARIABLES

    for name in BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    status, _, _ = run(capsys, "train", "simple_v3", "--threads", "2", "--gamma", "2")
    assert status == 2  # refused after the threads were set, before anything trained
    assert (os.environ["OPENBLAS_NUM_THREADS"], os.environ["OMP_NUM_THREADS"],
            os.environ["MKL_NUM_THREADS"]) == ("2", "2", "3")


def test_threads_in_a_process_where_tensorflow_has_started_are_a_warning_not_a_crash():
    # A second `main(["train", ..., "--threads", "N"])` in one Python session: TensorFlow
    # fixed its thread pools at its first operation and refuses a change.
    from tf_maddpg.runtime import set_tensorflow_threads

    tf.constant(1.0).numpy()  # TensorFlow has started
    threading = tf.config.threading
    current = (threading.get_intra_op_parallelism_threads(),
               threading.get_inter_op_parallelism_threads())
    assert set_tensorflow_threads(tf, 7) is False
    assert (threading.get_intra_op_parallelism_threads(),
            threading.get_inter_op_parallelism_threads()) == current


def test_config_comes_from_defaults_then_file_then_options(tmp_path):
    yaml_file = tmp_path / "c.yaml"
    yaml_file.write_text("gamma: 0.9\nhidden-sizes: [32, 32]\nmax_grad_norm: null\ntau: 0.05\n")
    config = config_from(str(yaml_file), {"tau": 0.02})
    assert (config.gamma, config.hidden_sizes, config.max_grad_norm, config.tau) == (
        0.9, (32, 32), None, 0.02)
    assert config.batch_size == MADDPGConfig().batch_size
    json_file = tmp_path / "c.json"
    json_file.write_text(json.dumps({"update_order": "simultaneous", "jit_compile": True}))
    assert config_from(str(json_file), {}).update_order == "simultaneous"
    with pytest.raises(CommandError, match="cannot read --config"):
        config_from(str(tmp_path / "missing.yaml"), {})


def test_train_writes_the_run_folder(trained):
    out, stdout = trained
    names = sorted(n for n in os.listdir(out) if not n.startswith("."))  # .lock: the run's lock
    assert names == ["actors", "checkpoints", "config.json", "metrics.csv", "returns.png",
                     "run.json", "saved_model", "tensorboard"]
    assert "episode  env_steps  steps/s" in stdout and "\r" not in stdout  # plain lines
    assert json.loads((out / "config.json").read_text())["hidden_sizes"] == [16, 16]
    assert json.loads((out / "run.json").read_text())["scenario"] == "simple_adversary_v3"
    tags = set()
    for path in glob.glob(str(out / "tensorboard" / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value)
    assert {"return/adversary_0", "return/agent_0", "loss/critic/agent_1", "loss/actor/agent_1",
            "env_steps_per_s"} <= tags


def test_evaluate_prints_the_returns_and_renders_a_gif(capsys, trained, tmp_path):
    out, _ = trained
    gif = tmp_path / "episode.gif"
    status, stdout, err = run(capsys, "evaluate", str(out), "--episodes", "2", "--render", str(gif))
    assert status == 0, err
    assert "greedy returns over 2 episodes" in stdout
    assert [line.split()[0] for line in stdout.splitlines()[2:5]] == [
        "adversary_0", "agent_0", "agent_1"]
    assert gif.read_bytes()[:6] == b"GIF89a"


def test_export_writes_savedmodels_that_act_like_the_actors(capsys, trained, tmp_path):
    out, _ = trained
    status, stdout, err = run(capsys, "export", str(out), "--out", str(tmp_path / "exported"))
    assert status == 0, err
    actor = tf.saved_model.load(str(tmp_path / "exported" / "agent_0"))
    obs = np.random.default_rng(0).normal(size=(16, 10)).astype(np.float32)
    keras_actor = keras.models.load_model(str(out / "actors" / "agent_0.keras"))
    np.testing.assert_array_equal(actor.serving_default(obs=tf.constant(obs))["action"].numpy(),
                                  np.argmax(keras_actor(obs), axis=-1))


def test_plot_draws_one_run_or_several(capsys, trained, tmp_path):
    out, _ = trained
    for runs in ([out], [out, out]):
        png = tmp_path / f"{len(runs)}.png"
        status, _, err = run(capsys, "plot", *map(str, runs), "--out", str(png))
        assert status == 0, err
        assert png.read_bytes()[:4] == b"\x89PNG"
    status, _, err = run(capsys, "plot", str(tmp_path), "--out", str(tmp_path / "x.png"))
    assert status == 1 and "has no metrics.csv" in err


def test_resume_from_the_command_line_and_its_errors(capsys, trained, tmp_path):
    out, _ = trained
    status, _, err = run(capsys, "train", "--resume", str(out), "--gamma", "0.9")
    assert status == 2 and "only --episodes, --env-workers and --jit-compile may change when " \
                           "resuming; " \
                           "remove --gamma" in err
    status, _, err = run(capsys, "train", "--resume", str(out), "--algo", "matd3",
                         "--env-arg", "N=3")
    assert status == 2 and "remove --algo, --env-arg" in err
    status, _, err = run(capsys, "train", "--resume", str(tmp_path))
    assert status == 1 and "is not a tf_maddpg run folder" in err
    status, _, err = run(capsys, "train", "simple_spread_v3", "--resume", str(out))
    assert status == 1 and "is a run of simple_adversary_v3, not simple_spread_v3" in err
    status, _, err = run(capsys, "train", "simple_adversary_v3", "--out", str(out))
    assert status == 1 and "already holds a run" in err

    (tmp_path / "copy").mkdir()
    copy = tmp_path / "copy" / "adv"
    subprocess.run(["cp", "-r", str(out), str(copy)], check=True)
    status, stdout, err = run(capsys, "train", "--resume", str(copy), "--episodes", "6", "--quiet")
    assert status == 0, err
    with open(copy / "metrics.csv") as f:
        assert [line.split(",")[0] for line in f][1:] == ["2", "4", "6"]


def test_python_dash_m_runs_the_command():
    done = subprocess.run([sys.executable, "-m", "tf_maddpg", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "list-envs" in done.stdout


def test_matd3_with_scenario_options_trains_from_the_command_line(capsys, tmp_path):
    out = tmp_path / "tag"
    status, _, err = run(capsys, "train", "simple_tag_v3", "--algo", "matd3", "--policy-delay",
                         "3", "--env-arg", "terminate_on_success=true", "--env-arg",
                         "num_obstacles=1", *FAST, "--quiet", "--out", str(out))
    assert status == 0, err
    config = json.loads((out / "config.json").read_text())
    assert (config["algo"], config["policy_delay"]) == ("matd3", 3)
    assert json.loads((out / "run.json").read_text())["env_kwargs"] == {
        "terminate_on_success": True, "num_obstacles": 1}
    with open(out / "metrics.csv") as f:
        assert [line.split(",")[0] for line in f][1:] == ["2", "4"]
    assert (out / "saved_model" / "adversary_0" / "saved_model.pb").exists()


def test_scenario_options_are_checked_against_the_scenario(capsys):
    status, _, err = run(capsys, "train", "simple_spread_v3", "--env-arg", "n=4")
    assert status == 2 and "simple_spread_v3 has no option 'n' (--env-arg); its options: N=3" in err
    status, _, err = run(capsys, "train", "simple_spread_v3", "--env-arg", "N=four")
    assert status == 2 and "--env-arg N='four': simple_spread_v3's N takes an integer" in err
    status, _, err = run(capsys, "train", "simple_spread_v3", "--env-arg",
                         "continuous_actions=1")
    assert status == 2 and "takes true or false" in err
    status, _, err = run(capsys, "train", "simple_spread_v3", "--env-arg", "N")
    assert status == 2 and "expected KEY=VALUE (e.g. N=4), not 'N'" in err
    status, _, err = run(capsys, "train", "simple_spread_v3", "--env-arg", "N=2",
                         "--env-arg", "N=3")
    assert status == 2 and "--env-arg N is given twice" in err


def test_matd3_options_need_algo_matd3(capsys, tmp_path):
    status, _, err = run(capsys, "train", "simple_v3", "--policy-delay", "3")
    assert status == 2 and "--policy-delay is not an option of algo maddpg; --algo matd3 takes it" in err
    config = tmp_path / "c.yaml"
    config.write_text("algo: matd3\ntarget_noise: 0.3\n")
    assert config_from(str(config), {}).target_noise == 0.3
    with pytest.raises(CommandError, match="algo maddpg has no field target_noise"):
        config_from(str(config), {}, "maddpg")


def test_preset_gives_a_published_configuration_and_refuses_an_unknown_one(capsys, tmp_path):
    config = config_from(None, {"seed": 2}, "mappo", "harl")
    assert (config.epochs, config.hidden_sizes, config.num_envs, config.seed) == (
        5, (128, 128), 160, 2)
    status, _, err = run(capsys, "train", "simple_spread_v3", "--algo", "mappo", "--preset",
                         "hral", "--out", str(tmp_path / "x"))
    assert status == 2 and "--preset hral: algo mappo has no such preset (its presets: harl)" in err
    assert not (tmp_path / "x").exists()
    status, _, err = run(capsys, "train", "--resume", str(tmp_path), "--preset", "harl")
    assert status == 2 and "--preset" in err and "resuming" in err


def test_a_sweep_file_takes_a_preset_and_names_an_unknown_one():
    from tf_maddpg.algorithms.registry import config_from_dict
    from tf_maddpg.sweep import parse_spec
    from tf_maddpg.sweep.spec import SpecError

    spec = parse_spec({"scenarios": ["simple_spread_v3"], "seeds": [0],
                       "algorithms": [{"algo": "mappo", "options": {"preset": "harl"}}],
                       "options": {"episodes": 320, "eval_interval": 160}})
    (trial,) = spec.grid()
    config = config_from_dict(spec.config_values(trial))
    assert (config.epochs, config.eval_interval, spec.field(trial, "num_envs")) == (5, 160, 160)
    with pytest.raises(SpecError, match="algo ippo has no preset 'harl'"):
        parse_spec({"scenarios": ["simple_spread_v3"], "seeds": [0],
                    "algorithms": [{"algo": "ippo", "options": {"preset": "harl"}}]})

"""A new user's first hour with the command line: fast usage errors, no noise, runs that
say when they are too short, folders that do not collide, plots and GIFs that explain
themselves, exports that remember their scenario options."""

import contextlib
import dataclasses
import csv
import io
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from tf_maddpg import MADDPGConfig, MATD3Config, __version__
from tf_maddpg.cli import default_run_dir, main, short_run_warnings
from tf_maddpg.runs import plots
from test_catalogue import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def quiet_env():
    """The environment of a new user's shell: TF_CPP_MIN_LOG_LEVEL not set."""
    return {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """``tf-maddpg train simple_spread_v3 --env-arg N=2 --episodes 2`` without --out, in a
    fresh folder: (folder it ran in, exit status, stdout, stderr)."""
    where = tmp_path_factory.mktemp("first_hour")
    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    os.chdir(where)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["train", "simple_spread_v3", "--env-arg", "N=2", "--episodes", "2",
                           "--episode-length", "5", "--eval-interval", "5", "--hidden-sizes",
                           "8"])
    finally:
        os.chdir(before)
    return where, status, out.getvalue(), err.getvalue()


# --- Startup ---------------------------------------------------------------------------------

USAGE_ERRORS = [
    ["train", "simple_v3", "--gamma", "2"],
    ["train", "simple_v3", "--bogus"],
    ["train", "simple_v3", "--update-order", "random"],
    ["train", "simple_spread_v3", "--env-arg", "N=0"],
    ["train", "simple_v3", "--seed", str(2**32)],
    ["train", "simple_v3", "--buffer-size", "1e13"],
    ["train", "--resume", "somewhere", "--overwrite"],
    ["evaluate", "somewhere", "--seed", "-1"],
    ["export", "somewhere"],
]

CHECK_USAGE_ERRORS = """
import contextlib, io, json, sys
from tf_maddpg.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit_:
            status = exit_.code
    results.append([status, err.getvalue()])
print(json.dumps({"results": results, "tensorflow": "tensorflow" in sys.modules}))
"""


def test_usage_errors_answer_before_tensorflow_loads_in_one_line_and_a_hint():
    done = subprocess.run([sys.executable, "-c", CHECK_USAGE_ERRORS, json.dumps(USAGE_ERRORS)],
                          capture_output=True, text=True, timeout=120, env=quiet_env(),
                          cwd=ROOT)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    assert report["tensorflow"] is False  # nothing of the above needed TensorFlow
    for argv, (status, err) in zip(USAGE_ERRORS, report["results"]):
        lines = err.strip().splitlines()
        assert status == 2, (argv, err)
        assert len(lines) == 2 and ": error: " in lines[0], (argv, err)
        assert lines[1].strip() == f"(see `tf-maddpg {argv[0]} --help` for the options)"


def test_the_console_command_starts_quietly(short_run, tmp_path):
    """A command that loads TensorFlow prints none of its startup lines (oneDNN, cuda
    drivers, cuInit, absl) unless asked to."""
    where, _, _, _ = short_run
    run = where / "runs" / "simple_spread_v3" / "maddpg-N2" / "seed0"
    done = subprocess.run([sys.executable, "-m", "tf_maddpg", "export", str(run), "--out",
                           str(tmp_path / "exported")], capture_output=True, text=True,
                          timeout=300, env=quiet_env())
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines()[0] == f"agent_0: {tmp_path / 'exported' / 'agent_0'}"


def test_version_and_help_without_rst_markup(capsys):
    status, out, _ = cli(capsys, "--version")
    assert status == 0 and out.strip() == f"tf-maddpg {__version__}"
    for command in ([], ["train"], ["evaluate"], ["export"], ["plot"], ["compare"]):
        status, out, _ = cli(capsys, *command, "--help")
        assert status == 0 and "``" not in out, command
    _, out, _ = cli(capsys, "train", "--help")
    assert "--verbose-tf" in out and "Save a checkpoint every this many episodes" in out


# --- A run too short to learn says so ----------------------------------------------------------

def test_a_run_too_short_to_learn_says_so_before_and_after(short_run):
    _, status, stdout, stderr = short_run
    assert status == 0, stderr
    lines = stderr.strip().splitlines()
    assert lines[0] == (
        "tf-maddpg train: warning: no update will happen: 2 episodes x 5 steps store at most "
        "10 transitions, fewer than --minimal-size 4000 needed before the first update; give "
        "--episodes 800 or more, or lower --minimal-size (at least --batch-size 1024)")
    assert lines[1].startswith("tf-maddpg train: warning: no evaluation will happen: one is "
                               "made every --eval-interval 5 episodes and the run has 2")
    assert "done: " in stdout
    assert lines[-1].startswith("tf-maddpg train: warning: no update happened and no "
                                "evaluation happened in this run, as warned at the start")


def test_a_long_enough_run_is_not_warned_about():
    assert short_run_warnings(MADDPGConfig()) == []
    assert short_run_warnings(MADDPGConfig(num_episodes=200, eval_interval=100)) == []
    warnings = short_run_warnings(MADDPGConfig(num_episodes=150, eval_interval=50))  # 3750 < 4000
    assert len(warnings) == 1 and "give --episodes 160 or more" in warnings[0]


# --- Run folders -------------------------------------------------------------------------------

def test_default_run_folders_hold_the_algorithm_and_the_scenario_options(short_run):
    assert default_run_dir("simple_spread_v3", MADDPGConfig()) == os.path.join(
        "runs", "simple_spread_v3", "maddpg", "seed0")
    assert default_run_dir("simple_spread_v3", MATD3Config(), {"N": 4}) == os.path.join(
        "runs", "simple_spread_v3", "matd3-N4", "seed0")
    assert default_run_dir("simple_spread_v3", MADDPGConfig(seed=3),
                           {"local_ratio": 0.25, "continuous_actions": True}) == os.path.join(
        "runs", "simple_spread_v3", "maddpg-continuous_actions-local_ratio0.25", "seed3")
    where, _, _, _ = short_run
    assert (where / "runs" / "simple_spread_v3" / "maddpg-N2" / "seed0" / "run.json").exists()


def test_run_folder_errors_speak_command_line(short_run, capsys, tmp_path):
    where, _, _, _ = short_run
    run = where / "runs" / "simple_spread_v3" / "maddpg-N2" / "seed0"
    status, _, err = cli(capsys, "train", "simple_spread_v3", "--env-arg", "N=2", "--episodes",
                         "2", "--out", run)
    assert status == 1 and "already holds a run" in err and f"--resume {run}" in err
    assert "resume=True" not in err


# --- Exports and GIFs --------------------------------------------------------------------------

def test_export_records_the_scenario_options(short_run, capsys, tmp_path):
    where, _, _, _ = short_run
    run = where / "runs" / "simple_spread_v3" / "maddpg-N2" / "seed0"
    status, _, err = cli(capsys, "export", run, "--out", tmp_path / "exported")
    assert status == 0, err
    metadata = json.loads((tmp_path / "exported" / "metadata.json").read_text())
    assert metadata["scenario"] == "simple_spread_v3" and metadata["env_kwargs"] == {"N": 2}


def test_evaluate_renders_several_episodes_at_the_fps_asked(short_run, capsys, tmp_path):
    where, _, _, _ = short_run
    run = where / "runs" / "simple_spread_v3" / "maddpg-N2" / "seed0"
    gif = tmp_path / "two.gif"
    status, out, err = cli(capsys, "evaluate", run, "--episodes", "2", "--seed", "7",
                           "--render", gif, "--render-episodes", "2", "--fps", "5")
    assert status == 0, err
    assert f"wrote {gif} (2 episodes, seeds 7, 8; mean returns agent_0" in out
    with Image.open(gif) as image:
        assert image.size == (700, 700)
        total = 0
        for k in range(image.n_frames):
            image.seek(k)
            total += image.info["duration"]
    assert total == 2 * (5 + 1) * 200  # two episodes of 5 steps and a first frame, 5 fps
    status, _, err = cli(capsys, "evaluate", run, "--fps", "5")
    assert status == 2 and "give --render GIF too" in err


# --- Plots ---------------------------------------------------------------------------------------

def legend_of(monkeypatch, draw):
    """The legend labels and title that ``draw()`` gives its figure."""
    seen = {}
    finish = plots._finish

    def spy(fig, ax, path, title):
        seen["labels"] = ax.get_legend_handles_labels()[1]
        seen["title"] = title
        finish(fig, ax, path, title)

    monkeypatch.setattr(plots, "_finish", spy)
    draw()
    return seen


def rows_of(returns, start=10):
    return [{"episode": start * (k + 1), "env_steps": 0, "wall_s": 0.0,
             **{f"return/{name}": values[k] for name, values in returns.items()}}
            for k in range(len(next(iter(returns.values()))))]


def test_agents_that_share_a_reward_are_one_labelled_line(monkeypatch, tmp_path):
    rows = rows_of({"adversary_0": [1.0, 2.0], "agent_0": [3.0, 4.0], "agent_1": [3.0, 4.0]})
    seen = legend_of(monkeypatch, lambda: plots.plot_returns(rows, tmp_path / "r.png",
                                                             title="simple_adversary_v3"))
    assert seen["labels"] == ["adversary_0", "agent_0 = agent_1 (the same return)"]
    assert seen["title"] == "simple_adversary_v3"
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def write_run(folder, returns, run=None):
    folder.mkdir(parents=True)
    rows = rows_of(returns)
    with open(folder / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    if run is not None:  # a real run's run.json and config.json: the plot's title
        for name in ("run.json", "config.json"):
            (folder / name).write_bytes((run / name).read_bytes())


def test_plot_says_where_runs_of_different_lengths_are_cut_and_what_the_band_is(
        short_run, monkeypatch, capsys, tmp_path):
    where, _, _, _ = short_run
    run = where / "runs" / "simple_spread_v3" / "maddpg-N2" / "seed0"
    write_run(tmp_path / "a", {"agent_0": [1.0, 2.0, 3.0], "agent_1": [1.0, 2.0, 3.0]}, run)
    write_run(tmp_path / "b", {"agent_0": [1.5, 2.5], "agent_1": [1.5, 2.5]}, run)
    seen = legend_of(monkeypatch, lambda: cli(capsys, "plot", tmp_path / "a", tmp_path / "b",
                                              "--out", tmp_path / "p.png"))
    assert seen["labels"] == ["agent_0 = agent_1 (the same return): mean of 2 runs",
                              "band: min to max over the 2 runs"]
    assert seen["title"] == ("simple_spread_v3 (N=2), maddpg, seeds 0: mean and min-max band "
                             "over 2 runs")


def test_plot_prints_the_cut(capsys, tmp_path):
    write_run(tmp_path / "a", {"agent_0": [1.0, 2.0, 3.0]})
    write_run(tmp_path / "b", {"agent_0": [1.5, 2.5]})
    status, out, err = cli(capsys, "plot", tmp_path / "a", tmp_path / "b", "--out",
                           tmp_path / "p.png")
    assert status == 0, err
    assert (f"note: the runs reached different lengths ({tmp_path / 'a'}: episode 30, "
            f"{tmp_path / 'b'}: episode 20); the curves stop at episode 20") in out
    assert f"wrote {tmp_path / 'p.png'} (mean of 2 runs with a min-max band)" in out
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_episodes_after_the_last_evaluation_are_warned_about():
    """The README's simple_tag line once trained 5,000 episodes with --eval-interval 256:
    the last 136 were never evaluated, without a word."""
    config = MADDPGConfig(num_envs=256, eval_interval=256, checkpoint_interval=1024)
    assert short_run_warnings(config) == [
        "the last 136 episodes will not be evaluated: --episodes 5000 is not a multiple of "
        "--eval-interval 256, so the last evaluation is at episode 4864; give --episodes 5120 "
        "or 4864"]
    assert short_run_warnings(config.replace(num_episodes=5120)) == []


def test_episodes_in_a_config_file(capsys, tmp_path):
    """`episodes:` as on the command line and in sweep files (and num_episodes: too)."""
    from tf_maddpg.cli import config_from

    path = tmp_path / "my.yaml"
    path.write_text("episodes: 300\neval_interval: 50\n")
    assert config_from(str(path), {}).num_episodes == 300
    path.write_text("episodes: 300\nnum_episodes: 200\n")
    status, _, err = cli(capsys, "train", "simple_v3", "--config", path)
    assert status == 2 and "gives num_episodes twice" in err


def test_train_help_is_short_and_each_algorithm_has_its_own(capsys):
    from tf_maddpg import ALGORITHMS

    status, out, _ = cli(capsys, "train", "--help")
    assert status == 0 and len(out.splitlines()) < 130, len(out.splitlines())
    assert "tf-maddpg train --algo NAME" in out and "--num-minibatches" not in out
    for name, algorithm in ALGORITHMS.items():
        status, out, _ = cli(capsys, "train", "--algo", name, "--help")
        assert status == 0 and f"{name} fields" in out
        for field in dataclasses.fields(algorithm.config_class):
            assert "--" + field.name.replace("_", "-") in out, (name, field.name)
        assert len(out.splitlines()) < 260, (name, len(out.splitlines()))
    _, out, _ = cli(capsys, "train", "--algo=mappo", "--help")
    episodes = out[out.index("--episodes N, --num-episodes N"):].split("\n  --")[0]
    # The algorithm's own description and default.
    assert "2M env steps" in episodes and "(default: 80000)" in episodes, episodes
    _, out, _ = cli(capsys, "train", "--algo=happo", "--help")
    team_reward = out[out.index("\n  --team-reward {") + 3:].split("\n  --")[0]
    assert "'own'" in team_reward and "EPyMARL" not in team_reward, team_reward


def test_a_resumed_run_says_so_at_once_and_its_rate_leaves_out_the_first_update(
        short_run, capsys, tmp_path):
    import shutil
    import types

    from tf_maddpg.training.session import TrainingSession

    where, _, _, _ = short_run
    run = tmp_path / "run"
    shutil.copytree(where / "runs" / "simple_spread_v3" / "maddpg-N2" / "seed0", run)
    status, out, err = cli(capsys, "train", "--resume", run, "--episodes", "3")
    assert status == 0, err
    assert out.splitlines()[0] == (f"resuming {run} at episode 2 of 3: loading TensorFlow and "
                                   "the checkpoint")
    # 1000 env steps in 10 s, 8 of them the session's first update (tracing): 500 steps/s.
    session = types.SimpleNamespace(
        progress=types.SimpleNamespace(wall_s=10.0, eval_s=0.0, env_steps=1000),
        _wall_before=0.0, _eval_before=0.0, _steps_before=0,
        updater=types.SimpleNamespace(first_s=8.0))
    assert TrainingSession._rate(session) == pytest.approx(500.0)


def readme_tour():
    """The `tf-maddpg` lines of README's tour of the command line, in order."""
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    tour = text.split("## A tour of the command line", 1)[1].split("```bash", 1)[1]
    return [line.split("  #")[0].strip() for line in tour.split("```", 1)[0].splitlines()
            if line.startswith("tf-maddpg ")]


def test_the_readme_tour_plots_its_seeds_before_resuming_one():
    lines = readme_tour()
    plot = next(k for k, line in enumerate(lines) if line.startswith("tf-maddpg plot runs/adv "))
    resume = next(k for k, line in enumerate(lines) if "--resume runs/adv" in line)
    assert plot < resume, "the plot of runs/adv* would stop at the episode of the shortest"


def test_every_train_line_of_the_readme_tour_runs_without_a_warning():
    """E.g. the simple_tag line once left its last 136 episodes unevaluated."""
    from tf_maddpg.cli import build_parser, config_from
    from tf_maddpg.cli.configs import config_options

    trains = [line for line in readme_tour() if line.startswith("tf-maddpg train ")
              and "--resume" not in line]
    assert len(trains) >= 5
    for line in trains:
        args = build_parser().parse_args(line.split()[1:])
        config = config_from(args.config, config_options(args), args.algo)
        assert short_run_warnings(config) == [], line


def test_the_readme_states_times_with_their_conditions():
    with open(os.path.join(ROOT, "README.md")) as f:
        text = " ".join(f.read().split())
    assert "with nothing else running" in text and "start-up" in text
    assert "busy with other work" in text

"""The catalogue of bad input and faults: every case gives one clear line and the right
exit status, or does what a user would expect.

Exit status 2: the command line itself is wrong (an option's value, a file or
folder it names). Exit status 1: a run folder cannot be used. 130: Ctrl-C; 143:
SIGTERM. Never a traceback, never a file of a run lost. Library cases
(non-finite values, wrong shapes) raise one exception whose message names the
agent and the field.

Each test is a case (``case("clear")`` for one clear line, ``case("sensible")``
for what a user would expect); tests/conftest.py counts them at the end of a run
(``python -m pytest tests/test_catalogue.py``): lost, tracebacks, silent,
unclear, one clear line, handled sensibly.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo import ParallelEnv

from tf_maddpg import AgentSpec, EnvAdapter, ReplayBuffer, make_env
from tf_maddpg.cli import main

pytestmark = pytest.mark.case("clear")

FAST = ["--episodes", "4", "--eval-interval", "2", "--eval-episodes", "1", "--batch-size", "32",
        "--minimal-size", "32", "--update-interval", "10", "--hidden-sizes", "16",
        "--checkpoint-interval", "2", "--episode-length", "10"]


def cli(capsys, *argv):
    """Runs the command in-process: (exit status, stdout, stderr)."""
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse's usage errors
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def check_error(result, status, *fragments):
    """The exit status, every fragment in stderr, one error line, no traceback."""
    got, out, err = result
    assert "Traceback" not in out + err, f"traceback: {err}"
    assert got != 0, f"silent: exit status 0 ({out} {err})"
    assert got == status, err
    for fragment in fragments:
        assert fragment in err, err
    assert len([line for line in err.splitlines() if ": error: " in line]) == 1, err
    if status == 2:
        assert "--help` for the options" in err  # a hint, not the whole usage
        assert "usage:" not in err


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Every case runs in a fresh folder, so a default run folder lands there."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A 4-episode simple_spread_v3 N=2 run (checkpoints at 2 and 4)."""
    out = tmp_path_factory.mktemp("catalogue") / "spread"
    status = main(["train", "simple_spread_v3", "--env-arg", "N=2", *FAST, "--quiet",
                   "--out", str(out)])
    assert status == 0
    return out


def copy_run(run_dir, tmp_path, name="copy"):
    copy = tmp_path / name
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns(".lock"))
    return copy


def edit_run_json(run, **changes):
    path = run / "run.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


# --- Scenario options that mpe2 rejects deep inside -------------------------------------------

@pytest.mark.parametrize("argument, fragment", [
    ("N=0", "simple_spread_v3 cannot run with --env-arg N=0: mpe2 fails with"),
    ("N=-2", "--env-arg N=-2: simple_spread_v3's N is a count; give an integer >= 0"),
    ("local_ratio=5.0", "simple_spread_v3 cannot run with --env-arg local_ratio=5.0: mpe2 "
                        "fails with AssertionError: local_ratio is a proportion"),
])
def test_scenario_options_that_mpe2_rejects(capsys, argument, fragment):
    check_error(cli(capsys, "train", "simple_spread_v3", "--env-arg", argument), 2, fragment)


# --- Config files, output folders --------------------------------------------------------------

def test_a_binary_config_file(capsys, tmp_path):
    config = tmp_path / "config.bin"
    config.write_bytes(bytes(range(256)) * 4)
    check_error(cli(capsys, "train", "simple_v3", "--config", config), 2,
                f"--config {config} is not a text file; it must be YAML or JSON")


def test_out_on_a_file(capsys, tmp_path):
    target = tmp_path / "a_file"
    target.write_text("x")
    check_error(cli(capsys, "train", "simple_v3", "--out", target), 2,
                f"--out {target} is a file, not a folder")
    check_error(cli(capsys, "train", "simple_v3", "--out", target / "run"), 2,
                f"{target} is a file, so no folder can be made there")


def read_only_folder(tmp_path):
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o500)
    if not os.access(folder, os.W_OK):
        return folder / "run"
    # root writes anywhere it has permission bits for; sysfs refuses even root
    if os.path.isdir("/sys") and not os.access("/sys/tf_maddpg_catalogue", os.F_OK):
        try:
            os.mkdir("/sys/tf_maddpg_catalogue")
        except OSError:
            return "/sys/tf_maddpg_catalogue/run"
    pytest.skip("no read-only folder available to this user")


def test_out_on_a_read_only_folder(capsys, tmp_path):
    target = read_only_folder(tmp_path)
    try:
        check_error(cli(capsys, "train", "simple_v3", "--out", target), 2,
                    f"--out {target}: cannot write there (")
    finally:
        (tmp_path / "read_only").chmod(0o700)


# --- Seeds, buffer sizes -----------------------------------------------------------------------

def test_seeds_at_or_above_2_to_the_32(capsys):
    check_error(cli(capsys, "train", "simple_v3", "--seed", 2**32), 2,
                "--seed 4294967296 is invalid: expected an integer in [0, 4294967295]")


@pytest.mark.parametrize("size", ["1e13", "10000000000000"])
def test_a_huge_buffer_size(capsys, size):
    check_error(cli(capsys, "train", "simple_v3", "--buffer-size", size), 2,
                "--buffer-size 10000000000000: the replay buffer would need",
                "more than this machine's", "lower --buffer-size")


def test_a_huge_buffer_is_refused_by_the_buffer_itself():
    with pytest.raises(MemoryError, match=r"buffer_size=10000000000000: the replay buffer "
                                          r"would need 5\d\d\.\d TiB"):
        ReplayBuffer(make_env("simple_v3").specs, 10**13)


# --- evaluate, export, plot on runs ------------------------------------------------------------

def test_evaluate_seed_minus_one(capsys, run_dir):
    check_error(cli(capsys, "evaluate", run_dir, "--seed", "-1"), 2,
                "argument --seed: a seed is an integer from 0 to 4294967295, not -1")


@pytest.mark.parametrize("changes, fragment", [
    ({"env_kwargs": {"N": 3}}, "simple_spread_v3 with options {N=3} has agents"),
    ({"scenario": "simple_v3", "env_kwargs": {}}, "simple_v3 with options {} has agents"),
    ({"env_kwargs": {"N": 0}}, "simple_spread_v3 cannot run with the options {N=0}"),
    ({"scenario": "simple_nothing_v9"}, "names the scenario 'simple_nothing_v9', which mpe2 "
                                        "does not have"),
])
def test_evaluate_a_run_whose_scenario_or_options_were_edited(capsys, run_dir, tmp_path,
                                                               changes, fragment):
    copy = copy_run(run_dir, tmp_path)
    edit_run_json(copy, **changes)
    check_error(cli(capsys, "evaluate", copy, "--episodes", "1"), 1, fragment,
                "was run.json edited?")


def test_export_out_on_a_file(capsys, run_dir, tmp_path):
    target = tmp_path / "exported.txt"
    target.write_text("x")
    check_error(cli(capsys, "export", run_dir, "--out", target), 2,
                f"--out {target} is a file; export writes a folder")


def test_a_garbage_keras_file(capsys, run_dir, tmp_path):
    copy = copy_run(run_dir, tmp_path)
    (copy / "actors" / "agent_0.keras").write_bytes(b"garbage")
    for command in (["evaluate", copy, "--episodes", "1"],
                    ["export", copy, "--out", tmp_path / "e"]):
        status, out, err = cli(capsys, *command)
        check_error((status, out, err), 1, "agent_0.keras is not a .keras file")
        assert "File not found" not in err


def test_plot_of_a_truncated_csv(capsys, run_dir, tmp_path):
    copy = copy_run(run_dir, tmp_path)
    text = (copy / "metrics.csv").read_text()
    (copy / "metrics.csv").write_text(text[: len(text) - len(text.splitlines()[-1]) // 2 - 1])
    check_error(cli(capsys, "plot", copy, "--out", tmp_path / "p.png"), 1,
                "metrics.csv line 3 has", "fields (the file is cut short)")


@pytest.mark.parametrize("content, fragment", [
    (bytes(range(128, 256)), "is not a metrics CSV: it is not text"),
    (b"<html>not a csv</html>\n1,2\n", "is not a metrics CSV: its first line"),
    (b"episode,return/agent_0\n2,abc\n", "metrics.csv line 2: return/agent_0='abc' is not a "
                                         "number"),
])
def test_plot_of_a_non_csv(capsys, run_dir, tmp_path, content, fragment):
    copy = copy_run(run_dir, tmp_path)
    (copy / "metrics.csv").write_bytes(content)
    check_error(cli(capsys, "plot", copy, "--out", tmp_path / "p.png"), 1, fragment)


# --- Resuming ------------------------------------------------------------------------------------

def test_resume_with_fewer_episodes_than_the_run_has(capsys, run_dir, tmp_path):
    copy = copy_run(run_dir, tmp_path)
    config = (copy / "config.json").read_bytes()
    check_error(cli(capsys, "train", "--resume", copy, "--episodes", "2"), 2,
                f"{copy} is at episode 4 already, and --episodes gives the new total: pass "
                "more than 4 (e.g. --episodes 8)")
    check_error(cli(capsys, "train", "--resume", copy), 2,
                f"{copy} has finished its 4 episodes; to train further give a larger total")
    assert (copy / "config.json").read_bytes() == config  # not rewritten


def test_resume_with_overwrite(capsys, run_dir):
    check_error(cli(capsys, "train", "--resume", run_dir, "--overwrite"), 2,
                "--overwrite cannot be combined with --resume")


# --- Non-finite values and wrong shapes where they enter ---------------------------------------

class NaNObservationEnv(ParallelEnv):
    """Two agents; 'b' observes NaN on the second step, or the wrong size with ``wrong_size``."""

    metadata = {"name": "nan_obs_v0"}

    def __init__(self, wrong_size=False):
        self.possible_agents = ["a", "b"]
        self.agents = []
        self.wrong_size = wrong_size
        self.t = 0

    def observation_space(self, agent):
        return spaces.Box(-np.inf, np.inf, (3,), np.float32)

    def action_space(self, agent):
        return spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, seed=None, options=None):
        self.agents, self.t = list(self.possible_agents), 0
        return {a: np.zeros(3, np.float32) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        obs = {a: np.full(3, float(self.t), np.float32) for a in self.agents}
        if self.t == 2:
            obs["b"] = np.zeros(4, np.float32) if self.wrong_size else np.array([0, np.nan, 0])
        return (obs, {a: 0.0 for a in self.agents}, {a: False for a in self.agents},
                {a: False for a in self.agents}, {a: {} for a in self.agents})


def test_a_nan_box_action_is_refused_by_step_and_step_packed():
    env = make_env("simple_spread_v3", continuous_actions=True)
    env.reset(seed=0)
    with pytest.raises(FloatingPointError, match="agent 'agent_1': its action is not finite "
                                                 r"\(nan at index 2\)"):
        env.step([np.zeros(5), np.array([0, 0, np.nan, 0, 0]), np.zeros(5)])
    env.reset_packed(seed=0)
    actions = np.zeros(env.action_width, np.float32)
    actions[12] = np.inf  # agent_2's third value
    with pytest.raises(FloatingPointError, match="agent 'agent_2': its action is not finite "
                                                 r"\(inf at index 2\)"):
        env.step_packed(actions)
    good = env.step_packed(np.full(env.action_width, 0.5, np.float32))
    assert np.isfinite(good.obs).all()  # nothing leaked into the environment


def test_a_nan_discrete_action_is_refused_too():
    env = make_env("simple_adversary_v3")
    env.reset(seed=0)
    with pytest.raises(FloatingPointError, match="agent 'adversary_0'"):
        env.step([np.full(5, np.nan), 0, 0])


@pytest.mark.parametrize("packed", [False, True])
def test_a_nan_observation_is_refused_with_the_agent(packed):
    env = EnvAdapter(NaNObservationEnv())
    if packed:
        env.reset_packed()
        env.step_packed(np.zeros(4, np.float32))
        with pytest.raises(FloatingPointError, match="agent 'b': the environment's step"):
            env.step_packed(np.zeros(4, np.float32))
    else:
        env.reset()
        env.step([np.zeros(2), np.zeros(2)])
        with pytest.raises(FloatingPointError, match=r"agent 'b'.*non-finite observation "
                                                     r"\(nan at index 1\)"):
            env.step([np.zeros(2), np.zeros(2)])


@pytest.mark.parametrize("packed", [False, True])
def test_an_observation_of_the_wrong_size_names_the_agent(packed):
    env = EnvAdapter(NaNObservationEnv(wrong_size=True))
    (env.reset_packed if packed else env.reset)()
    step = ((lambda: env.step_packed(np.zeros(4, np.float32))) if packed
            else (lambda: env.step([np.zeros(2), np.zeros(2)])))
    step()
    with pytest.raises(ValueError, match=r"agent 'b': the environment's step\(\) returned an "
                                         r"observation of shape \(4,\), but its observation "
                                         r"space has shape \(3,\)"):
        step()


def test_a_packed_action_row_of_the_wrong_width():
    env = make_env("simple_adversary_v3")
    env.reset_packed(seed=0)
    with pytest.raises(ValueError, match=r"step_packed\(\) needs one packed action row of 15 "
                                         r"values \(agents adversary_0 5, agent_0 5, agent_1 5\)"):
        env.step_packed(np.zeros(14, np.float32))


SPECS = (AgentSpec("a", 3, 4, True), AgentSpec("b", 2, 2, False, (-1.0, -1.0), (1.0, 1.0)))


def transition(**changes):
    values = dict(obs=[np.zeros(3), np.zeros(2)], actions=[1, np.zeros(2)], rewards=[0.0, 0.0],
                  next_obs=[np.zeros(3), np.zeros(2)], terminated=[False, False],
                  alive=[True, True])
    values.update(changes)
    return values


def test_the_buffer_refuses_non_finite_values_with_agent_and_field():
    buffer = ReplayBuffer(SPECS, 8)
    with pytest.raises(FloatingPointError, match="the next_obs of agent 'b' in transition 0"):
        buffer.add(**transition(next_obs=[np.zeros(3), [np.nan, 0.0]]))
    with pytest.raises(FloatingPointError, match="the rewards of agent 'a'"):
        buffer.add(**transition(rewards=[np.inf, 0.0]))
    rows = np.zeros((3, buffer.layout.width), np.float32)
    rows[2, buffer.layout.slices["actions"][1].start] = np.nan
    with pytest.raises(FloatingPointError, match="the actions of agent 'b' in transition 2 of 3"):
        buffer.add_packed(rows, np.ones((3, 2), bool))
    assert len(buffer) == 0  # nothing was stored


def test_the_buffer_names_the_agent_and_field_of_a_wrong_shape():
    buffer = ReplayBuffer(SPECS, 8)
    with pytest.raises(ValueError, match="the obs of agent 'a' has 4 values; expected 3"):
        buffer.add(**transition(obs=[np.zeros(4), np.zeros(2)]))
    with pytest.raises(ValueError, match="the actions of agent 'b' has 3 values; expected 2"):
        buffer.add(**transition(actions=[1, np.zeros(3)]))
    with pytest.raises(ValueError, match=r"the action 7 of agent 'a' is outside Discrete\(4\)"):
        buffer.add(**transition(actions=[7, np.zeros(2)]))
    with pytest.raises(ValueError, match=r"rewards has 1 entries; expected one per agent \(a, b\)"):
        buffer.add(**transition(rewards=[0.0]))
    with pytest.raises(ValueError, match="rows have 21 columns, but this buffer's transitions "
                                         r"have 22 \(obs 5, actions 6"):
        buffer.add_packed(np.zeros((1, 21)), np.ones((1, 2), bool))


# --- A real process: one line, no traceback, no TensorFlow noise --------------------------------

def test_a_failing_command_in_a_real_process_prints_one_line(run_dir, tmp_path):
    copy = copy_run(run_dir, tmp_path)
    (copy / "actors" / "agent_1.keras").write_bytes(b"")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-m", "tf_maddpg", "evaluate", str(copy)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"tf-maddpg evaluate: error: {copy}/actors/agent_1.keras is not a .keras file (a "
        ".keras file is a zip archive; this one is empty): it is damaged or was replaced "
        "(actors are saved with every checkpoint)"]


# === Issue 26: the last mile ====================================================================
#
# Each case of the issue, as the command that showed it. A file of a run folder that a
# command overwrote is "lost"; a traceback is "traceback"; a bad input accepted without a
# word is "silent".

def files_of(folder):
    """Every file under ``folder`` with its bytes (what a command must not change)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


def assert_unchanged(folder, before):
    after = files_of(folder)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"lost: {folder}: {changed} changed"


# --- Lost -------------------------------------------------------------------------------------

@pytest.mark.parametrize("target, fragment", [
    ("metrics.csv", "--render {run}/metrics.csv: give a file name ending in .gif"),
    ("returns.gif", None),  # a new name in a run folder is fine
    ("actors/agent_0.gif", "where it would overwrite the run's own actors"),
    ("checkpoints/x.gif", "where it would overwrite the run's own checkpoints"),
])
def test_evaluate_render_never_overwrites_a_file_of_a_run(capsys, run_dir, tmp_path, target,
                                                          fragment):
    copy = copy_run(run_dir, tmp_path)
    before = files_of(copy)
    result = cli(capsys, "evaluate", copy, "--episodes", "1", "--render", copy / target)
    if fragment is None:
        assert result[0] == 0, result[2]
        assert (copy / target).read_bytes()[:3] == b"GIF"
        before[target] = (copy / target).read_bytes()
    else:
        check_error(result, 2, fragment.format(run=copy))
    assert_unchanged(copy, before)


def test_render_wants_a_gif(capsys, run_dir, tmp_path):
    check_error(cli(capsys, "evaluate", run_dir, "--render", tmp_path / "a.png"), 2,
                f"--render {tmp_path / 'a.png'}: give a file name ending in .gif")


@pytest.mark.parametrize("name", ["returns.png", "tensorboard/x.png"])
def test_plot_out_never_overwrites_a_file_of_a_run(capsys, run_dir, tmp_path, name):
    copy = copy_run(run_dir, tmp_path)
    before = files_of(copy)
    check_error(cli(capsys, "plot", copy, "--out", copy / name), 2,
                "where it would overwrite the run's own")
    assert_unchanged(copy, before)


@pytest.mark.parametrize("present", ["compare.md", "compare.png", "tf", "torch"])
def test_compare_into_a_folder_that_holds_a_comparison(capsys, tmp_path, present):
    out = tmp_path / "cmp"
    (out / "tf" / "seed0").mkdir(parents=True)
    (out / present).mkdir(exist_ok=True) if present in ("tf", "torch") else \
        (out / present).write_text("an earlier comparison")
    before = files_of(out)
    check_error(cli(capsys, "compare", "simple_v3", "--out", out, "--episodes", "2"), 2,
                f"--out {out} holds a comparison already (", "--overwrite to replace it")
    assert_unchanged(out, before)


# --- Tracebacks -------------------------------------------------------------------------------

def interrupt(kind):
    from tf_maddpg.signals import Terminated

    def stop(*args, **kwargs):
        raise Terminated() if kind == "SIGTERM" else KeyboardInterrupt()
    return stop


@pytest.mark.parametrize("kind, status", [("Ctrl-C", 130), ("SIGTERM", 143)])
@pytest.mark.parametrize("command", ["train", "evaluate", "export"])
def test_ctrl_c_or_sigterm_before_a_command_starts_its_work(capsys, monkeypatch, run_dir,
                                                           tmp_path, kind, status, command):
    """Ctrl-C while TensorFlow loads (the first seconds of every command): one line."""
    from tf_maddpg.cli import commands

    monkeypatch.setattr(commands, "load_tensorflow", interrupt(kind))
    argv = {"train": ["train", "simple_v3", *FAST, "--out", tmp_path / "new"],
            "evaluate": ["evaluate", run_dir, "--episodes", "1"],
            "export": ["export", run_dir, "--out", tmp_path / "exported"]}[command]
    got, out, err = cli(capsys, *argv)
    assert "Traceback" not in out + err, f"traceback: {err}"
    assert got == status and err.strip().splitlines() == [
        f"tf-maddpg {command}: stopped by {kind}"], err


def test_ctrl_c_in_the_middle_of_evaluate(capsys, monkeypatch, run_dir):
    import tf_maddpg.training.evaluation as evaluation

    monkeypatch.setattr(evaluation, "play_episodes", interrupt("Ctrl-C"))
    got, out, err = cli(capsys, "evaluate", run_dir, "--episodes", "1")
    assert "Traceback" not in out + err, f"traceback: {err}"
    assert got == 130 and err.strip().splitlines() == ["tf-maddpg evaluate: stopped by Ctrl-C"]


def signals_as_in_a_terminal():
    """Ctrl-C and SIGTERM as a command started from a terminal gets them: neither ignored
    nor blocked. A test process can carry an ignored Ctrl-C into its children (seen under
    pytest-xdist, after some earlier test in the same worker), which a user's shell never
    gives a command; such a command rightly goes on ignoring it."""
    import signal

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


@pytest.mark.parametrize("signum, status, name", [(2, 130, "Ctrl-C"), (15, 143, "SIGTERM")])
def test_a_signal_in_the_first_seconds_of_a_real_train(tmp_path, signum, status, name):
    """The signal comes while the process loads TensorFlow (or, on a fast machine, while
    it trains: then the run stops after its episode with a checkpoint): one line."""
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "tf_maddpg", "train", "simple_spread_v3", "--env-arg", "N=2",
         *FAST, "--episodes", "400", "--quiet", "--threads", "1", "--out", tmp_path / "run"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=signals_as_in_a_terminal)
    time.sleep(2.0)
    with open(f"/proc/{process.pid}/status") as status_file:  # for the message below
        masks = [line.split()[:2] for line in status_file if line.startswith("Sig")]
    process.send_signal(signum)
    started = time.time()
    out, err = process.communicate(timeout=300)
    assert "Traceback" not in out + err, f"traceback: {err}"
    lines = err.strip().splitlines()
    assert process.returncode == status, (
        f"exit status {process.returncode}, {time.time() - started:.0f} s after the signal; "
        f"stdout: {out!r}; stderr: {err!r}; the process's signal masks when it came: {masks}")
    assert len(lines) == 1 and lines[0].startswith(f"tf-maddpg train: stopped by {name}"), err


@pytest.mark.parametrize("module", ["tf_maddpg.cli.startup", "tf_maddpg.cli.parser"])
def test_ctrl_c_while_the_command_line_itself_loads(tmp_path, module):
    """Ctrl-C in the first few hundred milliseconds, while Python imports the command
    line's own modules (before TensorFlow): one line, exit 130. The interrupt comes from
    a string exec, as when it lands while a dataclass makes its methods: CPython then
    marks it unhandled and ``python -m`` would end by SIGINT (status -2) after the line."""
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path, target=None):\n"
        f"        if name == {module!r}:\n"
        "            exec('raise KeyboardInterrupt', {})\n"
        "sys.meta_path.insert(0, Interrupt())\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "tf_maddpg", "train", "simple_v3"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stdout + done.stderr, f"traceback: {done.stderr}"
    assert done.returncode == 130 and done.stderr.splitlines() == [
        "tf-maddpg: stopped by Ctrl-C"], (done.returncode, done.stderr)


def test_sigterm_during_training_saves_a_checkpoint_and_exits_143(capsys, monkeypatch, tmp_path):
    """SIGTERM (a timeout, docker stop, Slurm) is Ctrl-C: the episode ends, a checkpoint is
    saved, one line, exit status 143; --resume continues."""
    import signal

    from tf_maddpg.training.session import TrainingSession

    evaluate = TrainingSession.evaluate

    def evaluate_then_terminate(self, rate):
        row = evaluate(self, rate)
        os.kill(os.getpid(), signal.SIGTERM)
        return row

    monkeypatch.setattr(TrainingSession, "evaluate", evaluate_then_terminate)
    out = tmp_path / "run"
    got, _, err = cli(capsys, "train", "simple_spread_v3", "--env-arg", "N=2", *FAST,
                      "--episodes", "8", "--checkpoint-interval", "8", "--quiet", "--out", out)
    assert got == 143, err
    assert err.strip().splitlines() == [
        f"tf-maddpg train: stopped by SIGTERM at episode 2, checkpoint saved; continue with: "
        f"tf-maddpg train --resume {out}"]
    assert (out / "checkpoints" / "ckpt-2.index").exists()
    monkeypatch.undo()
    got, _, err = cli(capsys, "train", "--resume", out, "--quiet")
    assert got == 0, err


def fill(disk):
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    (disk / "filler").write_bytes(b"\0" * max(free - 1024, 0))


def test_render_onto_a_full_disk(capsys, run_dir, small_disk):
    fill(small_disk)
    gif = small_disk / "a.gif"
    check_error(cli(capsys, "evaluate", run_dir, "--episodes", "1", "--render", gif), 1,
                f"cannot write --render {gif}: No space left on device")
    assert sorted(os.listdir(small_disk)) == ["filler"]  # no half-written GIF


def test_export_onto_a_full_disk_leaves_nothing(capsys, run_dir, small_disk):
    fill(small_disk)
    out = small_disk / "exp"
    check_error(cli(capsys, "export", run_dir, "--out", out), 1,
                f"cannot write --out {out}: No space left on device; nothing was exported")
    assert sorted(os.listdir(small_disk)) == ["filler"]  # no empty --out, no debris


def test_sweep_report_with_a_truncated_sweep_json(capsys, tmp_path):
    root = tmp_path / "sweep"
    root.mkdir()
    (root / "sweep.yaml").write_text("scenarios: [simple_v3]\nalgorithms: [maddpg]\n"
                                     "seeds: [0]\noptions: {episodes: 4}\n")
    (root / "sweep.json").write_text('{"trials": [{"folder": "simple_v3/mad')
    got, out, err = cli(capsys, "sweep", "--report", root)
    assert "Traceback" not in out + err, f"traceback: {err}"
    assert got == 0, err
    assert err.strip().splitlines() == [
        f"tf-maddpg sweep: warning: {root}/sweep.json is damaged (JSONDecodeError: "
        "Unterminated string starting at: line 1 column 24 (char 23)); the trials' status is "
        "read from their run folders, and the next sweep --resume rewrites it"]
    assert (root / "report.md").exists()


TRAIN_SHORT = [sys.executable, "-m", "tf_maddpg", "train", "simple_spread_v3", "--env-arg",
               "N=2", *FAST, "--threads", "1"]


def test_train_with_stdout_closed_finishes_its_run(tmp_path):
    """`tf-maddpg train ... >&-` (cron, a daemon): the run goes on to its end."""
    out = tmp_path / "run"
    done = subprocess.run(" ".join(TRAIN_SHORT + ["--out", str(out), ">&-"]), shell=True,
                          stderr=subprocess.PIPE, text=True, timeout=300)
    assert "Traceback" not in done.stderr, f"traceback: {done.stderr}"
    assert done.returncode == 0, done.stderr
    assert (out / "saved_model" / "metadata.json").exists()
    assert len((out / "metrics.csv").read_text().splitlines()) == 3  # the header, 2 rows


def test_train_into_a_broken_pipe_finishes_its_run(tmp_path):
    """`tf-maddpg train ... | head -1`: the reader leaves; the run goes on to its end."""
    out = tmp_path / "run"
    process = subprocess.Popen(TRAIN_SHORT + ["--out", str(out)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # the reader is gone before the first line
    err = process.stderr.read()
    process.wait(timeout=300)
    assert "Traceback" not in err, f"traceback: {err}"
    assert process.returncode == 0, err
    assert "could not write" not in err
    assert (out / "saved_model" / "metadata.json").exists()


# --- Silently accepted --------------------------------------------------------------------------

@pytest.mark.parametrize("where, fragment", [
    ("{run}", "--out {run} is a run folder; export writes a folder of its own"),
    ("{run}/checkpoints", "where it would overwrite the run's own checkpoints"),
    ("{run}/actors", "where it would overwrite the run's own actors"),
    ("{other}", "--out {other} is a run folder"),
])
def test_export_into_a_run_folder_is_refused(capsys, run_dir, tmp_path, where, fragment):
    run, other = copy_run(run_dir, tmp_path, "run"), copy_run(run_dir, tmp_path, "other")
    before = {"run": files_of(run), "other": files_of(other)}
    target = where.format(run=run, other=other)
    check_error(cli(capsys, "export", run, "--out", target), 2,
                fragment.format(run=run, other=other))
    assert_unchanged(run, before["run"])
    assert_unchanged(other, before["other"])


def test_export_into_a_folder_of_other_files_is_refused(capsys, run_dir, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    check_error(cli(capsys, "export", run_dir, "--out", tmp_path / "mine"), 2,
                "holds files that are not an export of tf-maddpg")
    assert os.listdir(tmp_path / "mine") == ["notes.txt"]


@pytest.mark.case("sensible")
def test_an_export_replaces_an_earlier_one_whole(capsys, run_dir, tmp_path):
    """A 2-agent run exported over a 3-agent export: no third agent's folder is left."""
    out = tmp_path / "exported"
    assert cli(capsys, "export", run_dir, "--out", out)[0] == 0
    (out / "agent_2").mkdir()  # as an export of a 3-agent run left it
    (out / "agent_2" / "saved_model.pb").write_bytes(b"old")
    got, _, err = cli(capsys, "export", run_dir, "--out", out)
    assert got == 0, err
    assert sorted(os.listdir(out)) == ["agent_0", "agent_1", "metadata.json"]


# --- Unclear --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["-1e-3", "-.5", "-2"])
def test_a_negative_number_is_a_value(capsys, value):
    check_error(cli(capsys, "train", "simple_v3", "--actor-lr", value), 2,
                f"--actor-lr {float(value)} is invalid: expected a finite float in (0, inf)")


def test_resume_on_a_file(capsys, tmp_path):
    (tmp_path / "a_file").write_text("x")
    check_error(cli(capsys, "train", "--resume", tmp_path / "a_file"), 1,
                f"{tmp_path / 'a_file'} is a file, not a run folder")


@pytest.mark.case("sensible")
@pytest.mark.parametrize("deleted", [["config.json"], ["run.json"], ["config.json", "run.json"]])
def test_resume_after_config_or_run_json_was_deleted(capsys, run_dir, tmp_path, deleted):
    """A checkpoint keeps the configuration and run.json: the run resumes, and the files
    are written back (as metrics.csv is)."""
    copy = copy_run(run_dir, tmp_path)
    originals = {name: json.loads((copy / name).read_text()) for name in deleted}
    for name in deleted:
        (copy / name).unlink()
    got, out, err = cli(capsys, "evaluate", copy, "--episodes", "1")
    assert got == 0, err
    assert err.strip().splitlines() == [
        f"tf-maddpg evaluate: warning: {copy / name} is missing; read from the newest "
        f"checkpoint in {copy / 'checkpoints'} (train --resume writes it back)"
        for name in ("run.json", "config.json") if name in deleted]
    got, out, err = cli(capsys, "train", "--resume", copy, "--episodes", "6", "--quiet")
    assert got == 0, err
    for name in deleted:
        assert json.loads((copy / name).read_text()) == (
            {**originals[name], "num_episodes": 6} if name == "config.json" else originals[name])


@pytest.mark.parametrize("name, content, fragment", [
    ("config.json", "[1, 2]", "config.json is damaged (TypeError: it holds a list, not a "
                              "mapping); delete it, and it is read from the newest checkpoint"),
    ("config.json", '{"gamma": 0.9', "config.json is damaged (JSONDecodeError: "),
    ("run.json", '{"scenario": "simple_spread_v3"', "run.json is damaged (JSONDecodeError: "),
    ("run.json", '{"scenario": "simple_spread_v3"}', "run.json is damaged (KeyError: 'agents')"),
    ("config.json", '{"gamma": "high"}', "config.json is damaged ("),
])
def test_a_damaged_config_or_run_json_is_named(capsys, run_dir, tmp_path, name, content,
                                               fragment):
    copy = copy_run(run_dir, tmp_path)
    (copy / name).write_text(content)
    for command in (["evaluate", copy, "--episodes", "1"], ["train", "--resume", copy,
                                                            "--episodes", "6"]):
        check_error(cli(capsys, *command), 1, f"{copy / fragment.split(' ')[0]}", fragment)


@pytest.fixture(scope="module")
def mappo_run(tmp_path_factory):
    """A 4-episode MAPPO run (shared parameters: its actors have tf_maddpg's layers)."""
    out = tmp_path_factory.mktemp("catalogue_mappo") / "mappo"
    status = main(["train", "simple_spread_v3", "--env-arg", "N=2", "--algo", "mappo",
                   "--episodes", "4", "--num-envs", "2", "--eval-interval", "2",
                   "--eval-episodes", "1", "--checkpoint-interval", "2", "--episode-length",
                   "10", "--hidden-sizes", "16", "--epochs", "1", "--quiet", "--out", str(out)])
    assert status == 0
    return out


@pytest.mark.case("sensible")
@pytest.mark.parametrize("imports", ["import tf_maddpg, keras", "import keras, tf_maddpg"])
def test_on_policy_keras_actors_load_after_importing_tf_maddpg(mappo_run, imports):
    script = (f"{imports}\nmodel = keras.models.load_model({str(mappo_run)!r} + "
              "'/actors/agent_0.keras')\nprint(model.name)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "actor_agent_0"


@pytest.mark.parametrize("argv, fragment", [
    (["simple_spread_v3", "--env-arg", "N=1000000000"],
     "--env-arg N=1000000000: simple_spread_v3 would store about 12,000,000,008,000,000,000 "
     "values per transition, so the replay buffer of --buffer-size"),
    (["simple_spread_v3", "--env-arg", "N=300", "--algo", "mappo"],
     "--env-arg N=300: simple_spread_v3 would store about 1,082,400 values per transition, so "
     "a rollout of --num-envs 128 x --episode-length 25 steps seen by every agent's critic"),
    (["simple_tag_v3", "--env-arg", "num_good=100000"], "--env-arg num_good=100000: "),
])
def test_a_scenario_too_large_for_memory_is_refused_before_it_is_built(capsys, monkeypatch,
                                                                        argv, fragment):
    """As --buffer-size 1e20 is: with the memory it would need, before mpe2 builds it."""
    from tf_maddpg.cli import commands

    def never(*args, **kwargs):
        raise AssertionError("silent: the scenario was built")

    monkeypatch.setattr(commands, "check_scenario", never)
    check_error(cli(capsys, "train", *argv), 2, fragment, "more than half of this machine's",
                "give a smaller")


@pytest.mark.case("sensible")
def test_plot_of_two_algorithms_draws_them_apart(capsys, monkeypatch, run_dir, mappo_run,
                                                  tmp_path):
    """MADDPG's and MAPPO's runs are not seeds of one run: each algorithm its own curves."""
    from tf_maddpg.runs import plots

    drawn = {}
    plot_groups = plots.plot_groups

    def spy(groups, path, **kwargs):
        drawn.update({label: len(runs) for label, runs in groups.items()})
        plot_groups(groups, path, **kwargs)

    monkeypatch.setattr(plots, "plot_groups", spy)
    got, out, err = cli(capsys, "plot", run_dir, mappo_run, run_dir, "--out", tmp_path / "p.png")
    assert got == 0, err
    assert drawn == {"maddpg": 2, "mappo": 1}
    assert (f"note: the runs are of different algorithms (maddpg: {run_dir}, {run_dir}; mappo: "
            f"{mappo_run}): each is drawn as its own curves, not averaged with the others") in out
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


# --- Near misses --------------------------------------------------------------------------------

def test_a_damaged_checkpoint_is_one_warning_line(capsys, run_dir, tmp_path):
    copy = copy_run(run_dir, tmp_path)
    (data,) = (copy / "checkpoints").glob("ckpt-4.data-*")
    data.write_bytes(data.read_bytes()[:100])
    got, _, err = cli(capsys, "train", "--resume", copy, "--episodes", "6", "--quiet")
    assert got == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"tf-maddpg train: warning: checkpoint {copy}/checkpoints/ckpt-4 "
                               "could not be restored (")
    assert lines[0].endswith("); falling back to the previous one")


def test_a_full_disk_leads_with_the_reason_and_the_kept_checkpoint(capsys, mappo_run,
                                                                   small_disk):
    """MAPPO keeps no replay buffer: TensorFlow's own save meets the full disk."""
    copy = copy_run(mappo_run, small_disk)
    fill(small_disk)
    got, _, err = cli(capsys, "train", "--resume", copy, "--episodes", "8", "--quiet")
    check_error((got, "", err), 1, "No space left on device",
                f"The last good checkpoint (episode 4) is kept in {copy}/checkpoints.")
    assert "[Op:" not in err and "_temp" not in err and "tempstate" not in err, err

"""The example scripts, end to end in a subprocess, with a tiny budget."""

import csv
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(script, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, os.path.join(ROOT, "examples", script), *args],
                          capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)


def test_train_simple_adversary_example(tmp_path):
    out = tmp_path / "run"
    # 200 episodes = 5,000 env steps: past the reference's 4,000-transition warm-up,
    # so the run also makes 10 updates with the default settings.
    proc = run("train_simple_adversary.py", "--episodes", "200", "--seed", "3",
               "--eval-interval", "100", "--eval-episodes", "3", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "adversary_0" in proc.stdout and "agent_1" in proc.stdout  # the table header
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:6] == ["episode", "env_steps", "wall_s", "return/adversary_0",
                                 "return/agent_0", "return/agent_1"]
    assert [(r["episode"], r["env_steps"]) for r in rows] == [("100", "2500"), ("200", "5000")]
    assert (out / "returns.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(os.listdir(out / "actors")) == ["adversary_0.keras", "agent_0.keras",
                                                  "agent_1.keras"]
    assert sorted(os.listdir(out / "saved_model")) == ["adversary_0", "agent_0", "agent_1",
                                                       "metadata.json"]

    summary = run("summarize_runs.py", str(out), "--last", "2", "--plot", str(tmp_path / "p.png"))
    assert summary.returncode == 0, summary.stderr[-3000:]
    assert "| mean +- std |" in summary.stdout
    assert (tmp_path / "p.png").exists()


def test_example_rejects_bad_values_with_a_clear_message(tmp_path):
    proc = run("train_simple_adversary.py", "--episodes", "0", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "num_episodes=0 is invalid: expected an integer >= 1" in proc.stderr

"""Nothing of a run is lost: kills at random moments, two processes on one folder,
--overwrite that fails, damaged side files, an edited config.json, a full disk."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tf_maddpg import CheckpointError, MADDPGConfig, RunFolderError, load_actors, train
from tf_maddpg.runs import folder
from tf_maddpg.runs.metrics import read_metrics
from toy_envs import LeavingEnv

TINY = dict(batch_size=8, buffer_size=64, minimal_size=8, update_interval=2, hidden_sizes=(8,),
            episode_length=5, eval_interval=1, eval_episodes=1, checkpoint_interval=1)
HERE = os.path.dirname(os.path.abspath(__file__))


def without_wall_time(history):
    return [{k: v for k, v in row.items() if k != "wall_s"} for row in history]


def assert_same_rows(a, b):
    """The same metrics rows, wall time left out (NaN equals NaN)."""
    np.testing.assert_equal(without_wall_time(a), without_wall_time(b))


def same_weights(a, b):
    for x, y in zip(a.learner.actors + a.learner.critics, b.learner.actors + b.learner.critics):
        for u, v in zip(x.get_weights(), y.get_weights()):
            np.testing.assert_array_equal(u, v)


def assert_run_folder_whole(run_dir):
    """What a killed run leaves must be readable as it is."""
    info = folder.read_run(run_dir)
    with open(os.path.join(run_dir, folder.METRICS_FILE), newline="") as f:
        rows = list(csv.reader(f))
    assert all(len(row) == len(rows[0]) for row in rows), "a torn metrics.csv row"
    if os.path.isdir(os.path.join(run_dir, folder.ACTORS_DIR)):
        load_actors(info.specs, os.path.join(run_dir, folder.ACTORS_DIR))


KILLED_RUN = """
import sys
sys.path.insert(0, {here!r})
from tf_maddpg import MADDPGConfig, train
from toy_envs import LeavingEnv
config = MADDPGConfig(num_episodes={episodes}, **{tiny!r})
train(config, LeavingEnv, out_dir={out!r}, verbose=False, resume={resume})
"""


def test_sigkill_at_random_moments_loses_nothing(tmp_path):
    episodes = 40
    config = MADDPGConfig(num_episodes=episodes, **TINY)
    unbroken = train(config, LeavingEnv, out_dir=str(tmp_path / "unbroken"), verbose=False)
    out = str(tmp_path / "killed")
    rng = np.random.default_rng(0)
    kills = 0
    for attempt in range(6):
        resume = folder.has_checkpoint(out)
        code = KILLED_RUN.format(here=HERE, episodes=episodes, tiny=TINY, out=out,
                                 resume=resume)
        process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        # Wait for the run to be writing checkpoints (one an episode), then kill it anywhere.
        started = time.monotonic()
        while time.monotonic() - started < 60 and not folder.has_checkpoint(out):
            if process.poll() is not None:
                break
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.8))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        _, err = process.communicate()
        assert "Traceback" not in err, err
        if os.path.exists(os.path.join(out, folder.RUN_FILE)):
            assert_run_folder_whole(out)
    assert kills >= 3
    resumed = train(config, LeavingEnv, out_dir=out, verbose=False, resume=True)
    assert_same_rows(resumed.history, unbroken.history)
    same_weights(resumed, unbroken)
    assert_same_rows(read_metrics(os.path.join(out, folder.METRICS_FILE)), unbroken.history)
    assert not [n for n in os.listdir(out) if ".tmp-" in n or n.endswith(".old")]


def test_a_second_process_on_the_same_run_is_refused_with_the_holders_pid(tmp_path):
    config = MADDPGConfig(num_episodes=2, **TINY)
    train(config, LeavingEnv, out_dir=str(tmp_path), verbose=False)
    with folder.RunLock(str(tmp_path)):
        with pytest.raises(RunFolderError, match=rf"in use by another tf-maddpg process "
                                                 rf"\(pid {os.getpid()}\)"):
            train(config.replace(num_episodes=4), LeavingEnv, out_dir=str(tmp_path),
                  verbose=False, resume=True)
    rows = read_metrics(tmp_path / folder.METRICS_FILE)
    assert [r["episode"] for r in rows] == [1, 2]  # nothing written twice


def test_overwrite_removes_nothing_until_the_new_run_starts(tmp_path):
    config = MADDPGConfig(num_episodes=2, **TINY)
    train(config, "simple_v3", out_dir=str(tmp_path), verbose=False)
    before = sorted(os.listdir(tmp_path / "checkpoints"))
    with pytest.raises(Exception):  # mpe2 refuses the option deep inside
        train(config, "simple_spread_v3", env_kwargs={"N": 0}, out_dir=str(tmp_path),
              verbose=False, overwrite=True)
    assert sorted(os.listdir(tmp_path / "checkpoints")) == before
    resumed = train(config.replace(num_episodes=3), "simple_v3", out_dir=str(tmp_path),
                    verbose=False, resume=True)
    assert resumed.episodes == 3


def test_overwrite_refuses_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "metrics.csv").write_text("mine\n")
    (tmp_path / "tensorboard").mkdir()
    with pytest.raises(RunFolderError, match="no run.json of a tf_maddpg run"):
        train(MADDPGConfig(num_episodes=1, **TINY), LeavingEnv, out_dir=str(tmp_path),
              verbose=False, overwrite=True)
    assert (tmp_path / "metrics.csv").read_text() == "mine\n"
    assert (tmp_path / "tensorboard").is_dir()


@pytest.mark.parametrize("damage", ["truncated_row", "deleted_metrics", "garbage_index"])
def test_damaged_side_files_do_not_block_a_resume(tmp_path, damage):
    config = MADDPGConfig(num_episodes=4, **TINY)
    unbroken = train(config, LeavingEnv, out_dir=str(tmp_path / "a"), verbose=False)
    out = tmp_path / "b"
    train(config.replace(num_episodes=2), LeavingEnv, out_dir=str(out), verbose=False)
    metrics = out / folder.METRICS_FILE
    if damage == "truncated_row":
        text = metrics.read_text()
        metrics.write_text(text[: len(text) - 25])  # what a crash mid-write left
    elif damage == "deleted_metrics":
        metrics.unlink()
    else:
        (out / "checkpoints" / "checkpoint").write_text("\x00\x07 not an index {{{")
    with pytest.warns(RuntimeWarning) if damage == "garbage_index" else _nothing():
        resumed = train(config, LeavingEnv, out_dir=str(out), verbose=False, resume=True)
    assert_same_rows(resumed.history, unbroken.history)
    assert_same_rows(read_metrics(metrics), unbroken.history)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_an_edited_config_json_is_refused_on_resume_naming_the_field(tmp_path):
    config = MADDPGConfig(num_episodes=2, **TINY)
    train(config, LeavingEnv, out_dir=str(tmp_path), verbose=False)
    path = tmp_path / folder.CONFIG_FILE
    edited = dict(json.loads(path.read_text()), gamma=0.5)
    path.write_text(json.dumps(edited))
    info = folder.read_run(str(tmp_path))  # what `tf-maddpg train --resume` reads
    with pytest.raises(RunFolderError, match=r"config.json differs .* gamma \(0.95 in the "
                                             r"checkpoint, 0.5 now\)"):
        train(info.config.replace(num_episodes=4), LeavingEnv, out_dir=str(tmp_path),
              verbose=False, resume=True)
    assert json.loads(path.read_text())["gamma"] == 0.5  # left for the user to put back


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4M", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_says_so_in_one_line_and_leaves_no_debris(small_disk):
    config = MADDPGConfig(num_episodes=2, **TINY)
    out = small_disk / "run"
    train(config, LeavingEnv, out_dir=str(out), verbose=False)
    filler = small_disk / "filler"
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    filler.write_bytes(b"\0" * max(free - 4096, 0))  # almost nothing left
    with pytest.raises(CheckpointError) as caught:
        train(config.replace(num_episodes=4), LeavingEnv, out_dir=str(out), verbose=False,
              resume=True)
    message = str(caught.value)
    assert "No space left on device" in message and "episode 2" in message
    assert "\n" not in message
    leftovers = [n for n in os.listdir(out) + os.listdir(out / "checkpoints")
                 if ".tmp-" in n or "_temp" in n or n.endswith(".old")]
    assert leftovers == []
    assert sorted(n for n in os.listdir(out / "checkpoints") if n.startswith("buffer")) == \
        ["buffer-1.npz", "buffer-2.npz"]
    filler.unlink()
    resumed = train(config.replace(num_episodes=4), LeavingEnv, out_dir=str(out),
                    verbose=False, resume=True)
    assert resumed.episodes == 4

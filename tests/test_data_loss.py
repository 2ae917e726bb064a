"""Nothing of a run is lost: kills at random moments, two processes on one folder,
--overwrite that fails, damaged side files, an edited config.json, a full disk."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
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


def test_a_finished_run_without_checkpoints_is_refused_on_resume_and_kept(tmp_path):
    # Say its checkpoints were deleted to save disk, or the folder copied without them:
    # a resume would start again from episode 0 and write over its metrics and models.
    config = MADDPGConfig(num_episodes=2, **TINY)
    train(config, LeavingEnv, out_dir=str(tmp_path), verbose=False)
    shutil.rmtree(tmp_path / "checkpoints")
    before = snapshot(tmp_path, debris=False)
    with pytest.raises(RunFolderError, match=r"holds a finished run \(saved_model/\) but no "
                                             r"checkpoint to resume from .* --overwrite"):
        train(config.replace(num_episodes=4), LeavingEnv, out_dir=str(tmp_path),
              verbose=False, resume=True)
    assert snapshot(tmp_path, debris=False) == before


@pytest.fixture(scope="module")
def four_episodes(tmp_path_factory):
    """A TINY MADDPG run of 4 episodes on LeavingEnv, never stopped: its history."""
    config = MADDPGConfig(num_episodes=4, **TINY)
    out = tmp_path_factory.mktemp("four_episodes")
    return train(config, LeavingEnv, out_dir=str(out), verbose=False).history


@pytest.fixture(scope="module")
def two_episodes(tmp_path_factory):
    """The same run stopped after 2 episodes (its folder, to copy)."""
    config = MADDPGConfig(num_episodes=2, **TINY)
    out = tmp_path_factory.mktemp("two_episodes") / "run"
    train(config, LeavingEnv, out_dir=str(out), verbose=False)
    return out


@pytest.mark.parametrize("damage", ["truncated_row", "deleted_metrics", "garbage_index"])
def test_damaged_side_files_do_not_block_a_resume(tmp_path, damage, four_episodes,
                                                   two_episodes):
    config = MADDPGConfig(num_episodes=4, **TINY)
    out = tmp_path / "b"
    shutil.copytree(two_episodes, out)
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
    assert_same_rows(resumed.history, four_episodes)
    assert_same_rows(read_metrics(metrics), four_episodes)


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


# --- Real `tf-maddpg train` processes killed with SIGKILL -----------------------------------
#
# Each test kills real processes of the command line, at seeded random moments or in the
# middle of writing one of the run's files (tests/paused_train.py stops a process with the
# new version of the file written under its temporary name and the old one in place), then
# checks that the run folder is whole, that `tf-maddpg train --resume` finishes the run, and
# that the result equals the unbroken run: the same metrics rows, the same actors, the
# SavedModels, no debris.

PAUSED_TRAIN = os.path.join(HERE, "paused_train.py")
RUN = ["simple_spread_v3", "--env-arg", "N=2", "--episodes", "30", "--eval-interval", "10",
       "--checkpoint-interval", "10", "--eval-episodes", "2", "--episode-length", "10",
       "--minimal-size", "64", "--batch-size", "32", "--update-interval", "10",
       "--hidden-sizes", "16", "--quiet"]
"""30 episodes: an evaluation and a checkpoint every 10 (the newest two are kept)."""


def tf_maddpg(*argv):
    """``tf-maddpg ARGV`` run in this process, which is not the killed one: (status, stderr)."""
    import contextlib
    import io

    from tf_maddpg.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main([str(a) for a in argv])
    return status, err.getvalue()


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory):
    """The run of RUN, never stopped."""
    out = tmp_path_factory.mktemp("unbroken") / "run"
    status, err = tf_maddpg("train", *RUN, "--out", out)
    assert status == 0, err
    return out


def start(pause, *argv, **popen):
    """``tf-maddpg train ARGV`` in a new process; ``pause`` is ``"NAME:K"`` (stop at the K-th
    write of NAME) or ``"-"``."""
    process = subprocess.Popen([sys.executable, PAUSED_TRAIN, pause, "train", *map(str, argv)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               **popen)
    watchdog = threading.Timer(300, process.kill)  # never hang the test run
    watchdog.daemon = True
    watchdog.start()
    return process


def wait_paused(process):
    """Waits until the process stops at its pause point; returns what it was writing."""
    line = process.stdout.readline()
    if not line.startswith("paused: "):
        process.kill()
        _, err = process.communicate()
        pytest.fail(f"the run ended (exit {process.returncode}) before its pause point:\n{err}")
    return line.split(" -> ")[-1].strip()


def wait_for(condition, process, timeout=120):
    """Waits until ``condition()`` holds while the process runs."""
    started = time.monotonic()
    while not condition():
        if process.poll() is not None or time.monotonic() - started > timeout:
            process.kill()
            _, err = process.communicate()
            pytest.fail(f"the run ended (exit {process.returncode}) before the moment to "
                        f"kill it:\n{err}")
        time.sleep(0.002)


def sigkill(process):
    """SIGKILLs the process (it must still run); it must have printed no traceback."""
    assert process.poll() is None, "the process ended before it was killed"
    process.send_signal(signal.SIGKILL)
    _, err = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert "Traceback" not in err, err


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def checkpoint_numbers(run_dir):
    """The episodes of the checkpoints in the folder; every one has its buffer, and no
    buffer is left without its checkpoint."""
    names = os.listdir(os.path.join(run_dir, folder.CHECKPOINT_DIR))
    checkpoints = {int(n[5:-6]) for n in names if n.startswith("ckpt-") and n.endswith(".index")}
    buffers = {int(n[7:-4]) for n in names if n.startswith("buffer-") and n.endswith(".npz")}
    assert buffers == checkpoints, names
    return sorted(checkpoints)


def is_debris(name):
    return ".tmp" in name or "_temp" in name or name.endswith(".old")


def debris(run_dir):
    """What a write cut short leaves: temporary files and folders (``.tmp``), TensorFlow's
    unfinished checkpoint parts (``_temp``), a folder moved aside (``.old``)."""
    return sorted(os.path.relpath(os.path.join(root, name), run_dir)
                  for root, dirs, files in os.walk(run_dir) for name in dirs + files
                  if is_debris(name))


def snapshot(run_dir, debris=True):
    """Every file of the folder and its bytes (the lock file left out, and what a write cut
    short left unless ``debris``)."""
    files = {}
    for root, _, names in os.walk(run_dir):
        for name in names:
            path = os.path.join(root, name)
            relative = os.path.relpath(path, run_dir)
            if name == folder.LOCK_FILE or (not debris and any(
                    is_debris(part) for part in relative.split(os.sep))):
                continue
            with open(path, "rb") as f:
                files[relative] = f.read()
    return files


def assert_same_as_unbroken(run_dir, unbroken, rows=None):
    """The run finished and equals the unbroken one: metrics rows (the first ``rows`` of
    them), config, actors, SavedModels, checkpoints; no debris."""
    expected = read_metrics(os.path.join(unbroken, folder.METRICS_FILE))[:rows]
    assert_same_rows(read_metrics(os.path.join(run_dir, folder.METRICS_FILE)), expected)
    assert debris(run_dir) == []
    info = folder.read_run(str(run_dir))
    assert os.path.exists(os.path.join(run_dir, folder.PLOT_FILE))
    for spec in info.specs:
        assert os.path.exists(os.path.join(run_dir, folder.SAVED_MODEL_DIR, spec.name,
                                           "saved_model.pb"))
    if rows is None:
        with open(os.path.join(run_dir, folder.CONFIG_FILE)) as a, \
                open(os.path.join(unbroken, folder.CONFIG_FILE)) as b:
            assert json.load(a) == json.load(b)
        assert checkpoint_numbers(run_dir) == checkpoint_numbers(unbroken)
        ours = load_actors(info.specs, os.path.join(run_dir, folder.ACTORS_DIR))
        theirs = load_actors(info.specs, os.path.join(unbroken, folder.ACTORS_DIR))
        for a, b in zip(ours, theirs):
            for u, v in zip(a.get_weights(), b.get_weights()):
                np.testing.assert_array_equal(u, v)


def test_a_killed_holder_leaves_no_stale_lock(tmp_path, unbroken):
    """Case 2: while a run lives, a second `--resume` is refused with its pid; SIGKILLed
    (here while TensorFlow writes the index of checkpoint 20), it leaves a lock file that
    blocks nothing: the next `--resume` runs, and the result is whole."""
    out = tmp_path / "run"
    holder = start("checkpoint:2", *RUN, "--out", out)
    wait_paused(holder)
    status, err = tf_maddpg("train", "--resume", out, "--quiet")
    assert status == 1
    assert f"{out} is in use by another tf-maddpg process (pid {holder.pid})" in err, err
    assert "Traceback" not in err
    sigkill(holder)
    assert read_text(out / folder.LOCK_FILE).strip() == str(holder.pid)  # names the dead...
    status, err = tf_maddpg("train", "--resume", out, "--quiet")  # ...and blocks nothing
    assert status == 0, err
    assert_same_as_unbroken(out, unbroken)


@pytest.mark.extended  # about 40 s; the kills at random moments of a run stay in the default run
def test_an_overwrite_killed_at_random_moments(tmp_path, unbroken):
    """Case 3: `--overwrite` of a finished run, SIGKILLed at seeded random moments: while
    it builds its networks (before the new run starts), after the new run started but
    before its first checkpoint, and after its first checkpoint. Before the start the old
    run is untouched (byte for byte) and evaluate, export and --resume work on it; after,
    the folder holds the new run, which resumes and equals the unbroken run."""
    out = tmp_path / "run"
    status, err = tf_maddpg("train", *RUN, "--seed", "1", "--episodes", "10", "--out", out)
    assert status == 0, err
    old = snapshot(out)
    rng = np.random.default_rng(17)

    def config_of_new_run():
        return '"seed": 0' in read_text(out / folder.CONFIG_FILE)

    # 1. It holds the lock and is building its environments and networks.
    overwrite = start("-", *RUN, "--out", out, "--overwrite")
    wait_for(lambda: read_text(out / folder.LOCK_FILE).strip() == str(overwrite.pid), overwrite)
    time.sleep(rng.uniform(0.0, 0.05))
    sigkill(overwrite)
    assert snapshot(out) == old  # nothing of the old run lost
    assert tf_maddpg("evaluate", out, "--episodes", "1") == (0, "")
    assert tf_maddpg("export", out, "--out", tmp_path / "exported") == (0, "")
    resumed = tmp_path / "resumed"
    shutil.copytree(out, resumed)
    assert tf_maddpg("train", "--resume", resumed, "--episodes", "11", "--quiet")[0] == 0
    assert checkpoint_numbers(resumed) == [10, 11]
    assert_same_rows(read_metrics(resumed / folder.METRICS_FILE),
                     read_metrics(out / folder.METRICS_FILE))

    # 2. The new run has started (its config.json is written), no checkpoint yet.
    overwrite = start("-", *RUN, "--out", out, "--overwrite")
    wait_for(config_of_new_run, overwrite)
    time.sleep(rng.uniform(0.0, 0.1))
    sigkill(overwrite)
    assert not folder.has_checkpoint(str(out))  # the old run's checkpoints are gone with it
    assert folder.read_run(str(out)).config.seed == 0

    # 3. After the new run's first checkpoint.
    overwrite = start("-", *RUN, "--out", out, "--overwrite")
    wait_for(lambda: config_of_new_run() and folder.has_checkpoint(str(out)), overwrite)
    time.sleep(rng.uniform(0.0, 0.3))
    sigkill(overwrite)
    assert_run_folder_whole(out)
    assert folder.read_run(str(out)).config.seed == 0

    status, err = tf_maddpg("train", "--resume", out, "--quiet")
    assert status == 0, err
    assert_same_as_unbroken(out, unbroken)


SIDE_FILE_KILLS = [  # (where the process stops, its newest checkpoint then, what it is doing)
    ("returns.png:2", 10, "a fresh run, drawing the plot of episode 20"),
    ("config.json:1", 10, "a resume, rewriting config.json from the checkpoint"),
    ("run.json:1", 10, "a resume, rewriting run.json"),
    ("agent_1.keras:1", 20, "a resume, writing the actors of checkpoint 20 (agent_0's in place)"),
    ("saved_model:1", 30, "a resume at the end, moving the SavedModels into place"),
]
"""(A kill while metrics.csv is written: case 5's.)"""


@pytest.mark.extended  # about 40 s; the kills at random moments of a run stay in the default run
def test_kills_during_writes_of_every_side_file(tmp_path, unbroken):
    """Case 4: one run, SIGKILLed in the middle of writing each of its side files in turn
    (returns.png, config.json, run.json, actors, saved_model; metrics.csv in the next
    test), each time resumed by the next process; the last `--resume` finishes it (the
    SavedModels too), equal to the unbroken run."""
    out = tmp_path / "run"
    for number, (pause, newest, _) in enumerate(SIDE_FILE_KILLS):
        process = start(pause, *(["--resume", out, "--quiet"] if number else [*RUN, "--out", out]))
        wait_paused(process)
        sigkill(process)
        assert_run_folder_whole(out)
        assert checkpoint_numbers(out)[-1] == newest
    assert not os.path.exists(out / folder.SAVED_MODEL_DIR)
    status, err = tf_maddpg("train", "--resume", out, "--quiet")
    assert status == 0, err
    assert_same_as_unbroken(out, unbroken)


def test_a_run_at_its_total_resumes_only_to_write_missing_savedmodels(tmp_path, unbroken):
    """What lets case 4's last `--resume` finish a run killed while it wrote its
    SavedModels, while a finished run is still refused ("has finished its 30 episodes")."""
    from tf_maddpg.runs.folder import export_pending

    assert not export_pending(str(unbroken), 30)  # finished
    run = tmp_path / "run"
    shutil.copytree(unbroken, run)
    index = run / folder.CHECKPOINT_DIR / "ckpt-30.index"
    older = index.stat().st_mtime_ns - 10**9
    os.utime(run / folder.SAVED_MODEL_DIR / "metadata.json", ns=(older, older))
    assert export_pending(str(run), 30)  # a longer --resume killed before its export
    shutil.rmtree(run / folder.SAVED_MODEL_DIR)
    assert export_pending(str(run), 30)  # a run killed before its first export


def test_an_edited_config_json_after_a_kill_is_refused_then_resumes(tmp_path, unbroken):
    """Case 5 (and case 4's kill during a metrics.csv write): a run SIGKILLed while it
    writes the row of episode 30 to metrics.csv (checkpoint 20 kept), then its config.json
    edited: `--resume` refuses naming the field and changes nothing; with the value put
    back it resumes, equal to the unbroken run."""
    out = tmp_path / "run"
    process = start("metrics.csv:4", *RUN, "--out", out)
    wait_paused(process)
    sigkill(process)
    assert_run_folder_whole(out)
    assert_same_rows(read_metrics(out / folder.METRICS_FILE),
                     read_metrics(unbroken / folder.METRICS_FILE)[:2])  # the old file whole
    path = out / folder.CONFIG_FILE
    original = path.read_text()
    path.write_text(original.replace('"gamma": 0.95', '"gamma": 0.5'))
    before = snapshot(out, debris=False)
    status, err = tf_maddpg("train", "--resume", out, "--quiet")
    assert status == 1
    assert "gamma (0.95 in the checkpoint, 0.5 now)" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert snapshot(out, debris=False) == before  # (what the kill left may be cleaned up)
    path.write_text(original)
    status, err = tf_maddpg("train", "--resume", out, "--quiet")
    assert status == 0, err
    assert_same_as_unbroken(out, unbroken)


def _file_size_limit(limit):
    def limit_file_size():
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return limit_file_size


def test_a_full_disk_in_a_real_process(tmp_path, unbroken):
    """Case 6: `tf-maddpg train` whose files may not grow past 64 KiB (RLIMIT_FSIZE, no root
    needed): the buffer of checkpoint 30 (about 78 KB) cannot be written. Then `--resume`
    whose files may not pass 512 bytes: config.json (about 800) cannot be rewritten. Each
    time one clear line naming the last good checkpoint, no traceback, no debris; with the
    limit lifted, `--resume` finishes the run, equal to the unbroken one."""
    out = tmp_path / "run"
    kept = f"The last good checkpoint (episode 20) is kept in {out}/checkpoints."
    process = start("-", *RUN, "--out", out, preexec_fn=_file_size_limit(64 * 1024))
    _, err = process.communicate(timeout=300)
    assert process.returncode == 1, err
    assert err.strip().splitlines() == [
        f"tf-maddpg train: error: could not write the checkpoint of episode 30 in "
        f"{out}/checkpoints: File too large. {kept}"], err
    assert debris(out) == []
    assert checkpoint_numbers(out) == [10, 20]
    process = start("-", "--resume", out, "--quiet", preexec_fn=_file_size_limit(512))
    _, err = process.communicate(timeout=300)
    assert process.returncode == 1, err
    assert err.strip().splitlines() == [
        f"tf-maddpg train: error: could not write the run folder: File too large. {kept}"], err
    assert debris(out) == []
    status, err = tf_maddpg("train", "--resume", out, "--quiet")
    assert status == 0, err
    assert_same_as_unbroken(out, unbroken)

"""tf-maddpg sweep on a real local Ray (no mock): a grid's run folders and report, a
sweep killed and resumed, a failing trial among good ones, random search with ASHA,
the run of a sweep against the same run of `tf-maddpg train`, the engine without
Ray, and the sweep file's checks.

The Ray tests share one Ray session (started once for this module); the killed
sweep runs `tf-maddpg sweep` in a subprocess with its own. Runs are tiny: 20
episodes of simple_spread_v3, 8 hidden units, evaluations of 2 episodes."""

import csv
import glob
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tf_maddpg.cli import main
from tf_maddpg.sweep import SpecError, parse_spec

TINY = {"episodes": 20, "eval_interval": 10, "eval_episodes": 2, "minimal_size": 64,
        "batch_size": 32, "hidden_sizes": [8], "checkpoint_interval": 10}
GRID = {"scenarios": ["simple_spread_v3"], "algorithms": ["maddpg", "matd3"], "seeds": [0, 1],
        "options": TINY}
FOLDERS = [f"simple_spread_v3/{a}/seed{s}" for a in ("maddpg", "matd3") for s in (0, 1)]


def script():
    """The console script installed beside this Python, else the one on PATH."""
    path = os.path.join(os.path.dirname(sys.executable), "tf-maddpg")
    return path if os.path.exists(path) else "tf-maddpg"


def write(path, data) -> str:
    with open(path, "w") as f:
        yaml.safe_dump(data, f)
    return str(path)


def metrics(run_dir):
    """metrics.csv's rows without wall_s (the one column that depends on the machine)."""
    with open(os.path.join(run_dir, "metrics.csv"), newline="") as f:
        return [{k: v for k, v in row.items() if k != "wall_s"} for row in csv.DictReader(f)]


def config(run_dir):
    with open(os.path.join(run_dir, "config.json")) as f:
        return json.load(f)


def finished(run_dir) -> bool:
    return os.path.exists(os.path.join(run_dir, "saved_model", "metadata.json"))


def records(root):
    with open(os.path.join(root, "sweep.json")) as f:
        return {r["folder"]: r for r in json.load(f)["trials"]}


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray")
    with pytest.MonkeyPatch.context() as patch:
        # Ray starts its workers at nice 15: beside the other pytest-xdist worker's tests
        # (nice 0) the trials would wait for that worker to idle, and this file's sweeps
        # would take minutes instead of seconds.
        patch.setenv("RAY_worker_niceness", "0")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR)
        yield ray
        ray.shutdown()


@pytest.fixture(scope="module")
def unbroken(ray_session, tmp_path_factory):
    """The 2 x 2 sweep (maddpg and matd3, seeds 0 and 1), run whole in this process."""
    base = tmp_path_factory.mktemp("sweep")
    spec_file = write(base / "grid.yaml", GRID)
    root = str(base / "unbroken")
    assert main(["sweep", spec_file, "--out", root, "--quiet"]) == 0
    return spec_file, root


def test_a_2x2_sweep_ends_with_four_run_folders_and_a_report(unbroken, capsys):
    _, root = unbroken
    for folder in FOLDERS:
        run_dir = os.path.join(root, folder)
        for name in ("config.json", "run.json", "returns.png", "actors",
                     "checkpoints/ckpt-20.index", "saved_model/metadata.json"):
            assert os.path.exists(os.path.join(run_dir, name)), (folder, name)
        assert [row["episode"] for row in metrics(run_dir)] == ["10", "20"]
        algo, seed = folder.split("/")[1], int(folder[-1])
        assert config(run_dir)["algo"] == algo and config(run_dir)["seed"] == seed
        assert config(run_dir)["hidden_sizes"] == [8]
    assert {r["status"] for r in records(root).values()} == {"done"}
    assert sorted(records(root)) == sorted(FOLDERS)
    with open(os.path.join(root, "report.md")) as f:
        report = f.read()
    assert "| scenario | agents | random policy | maddpg | matd3 |" in report
    line = next(x for x in report.splitlines() if x.startswith("| simple_spread_v3 ("))
    assert "| agent (3) | -" in line and line.count("±") == 2
    assert all(f"| {folder} | done | 20 |" in report for folder in FOLDERS)
    for algo in ("maddpg", "matd3"):
        assert os.path.getsize(os.path.join(root, "simple_spread_v3", f"{algo}.png")) > 0
    # A trial is a run like any other, and the report can be written again at any time.
    capsys.readouterr()
    assert main(["evaluate", os.path.join(root, FOLDERS[0]), "--episodes", "2"]) == 0
    assert "greedy returns over 2 episodes" in capsys.readouterr().out
    assert main(["sweep", "--report", root]) == 0
    assert "| simple_spread_v3 (" in capsys.readouterr().out


def test_a_run_of_the_sweep_equals_the_same_run_of_train(unbroken, tmp_path):
    _, root = unbroken
    out = tmp_path / "train"
    assert main(["train", "simple_spread_v3", "--algo", "maddpg", "--seed", "0",
                 "--episodes", "20", "--eval-interval", "10", "--eval-episodes", "2",
                 "--minimal-size", "64", "--batch-size", "32", "--hidden-sizes", "8",
                 "--checkpoint-interval", "10", "--threads", "1", "--quiet",
                 "--out", str(out)]) == 0
    trial = os.path.join(root, "simple_spread_v3/maddpg/seed0")
    assert metrics(out) == metrics(trial)
    assert config(out) == config(trial)


# The engine without Ray resumes a killed sweep in the default run; this one, on Ray, is
# extended (about 1.5 minutes).
@pytest.mark.extended
def test_a_killed_sweep_resumes_to_the_same_runs(unbroken, tmp_path):
    spec_file, reference = unbroken
    root = str(tmp_path / "killed")
    driver = subprocess.Popen([script(), "sweep", spec_file, "--out", root, "--quiet"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    middle = None  # a trial with a checkpoint, not finished
    try:
        deadline = time.time() + 300
        while middle is None and time.time() < deadline and driver.poll() is None:
            time.sleep(0.1)
            for index in glob.glob(os.path.join(root, "*/*/seed*/checkpoints/ckpt-10.index")):
                run_dir = os.path.dirname(os.path.dirname(index))
                if not finished(run_dir):
                    middle = os.path.relpath(run_dir, root)
                    break
        driver.send_signal(signal.SIGKILL)  # the driver, as a crash would
        driver.wait()
    finally:
        time.sleep(1)
        try:  # what the driver's Ray left behind (its own process group)
            os.killpg(driver.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert middle is not None, "the sweep ended before a trial was caught mid-way"
    unfinished = [f for f in FOLDERS if not finished(os.path.join(root, f))]
    assert middle in unfinished

    done = subprocess.run([script(), "sweep", "--resume", root], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 trials: 4 done" in done.stdout
    for folder in FOLDERS:
        assert finished(os.path.join(root, folder)), folder
        assert metrics(os.path.join(root, folder)) == metrics(os.path.join(reference, folder))
        assert config(os.path.join(root, folder)) == config(os.path.join(reference, folder))
    # The trial caught mid-way resumed from its checkpoint: its first session's
    # TensorBoard events are kept beside the second's (a fresh start clears them).
    assert len(os.listdir(os.path.join(root, middle, "tensorboard"))) >= 2
    assert {r["status"] for r in records(root).values()} == {"done"}


def test_a_failing_trial_is_reported_and_the_others_finish(ray_session, tmp_path, capsys):
    spec = {**GRID, "algorithms": ["maddpg"], "seeds": [0],
            "options": {**TINY, "batch_size": [32, 128]}}  # 128 > minimal_size 64: refused
    root = str(tmp_path / "sweep")
    assert main(["sweep", write(tmp_path / "s.yaml", spec), "--out", root,
                 "--max-concurrent", "1"]) == 1
    out, err = capsys.readouterr()
    # One trial at a time: each trial's start comes after the other's end.
    events = [line.split("] ")[1].split()[0] for line in out.splitlines()
              if line.startswith("[") and "] " in line]
    assert events[:1] == ["start"] and "start" in events[1:]
    second = events.index("start", 1)
    assert events[1:second] and events[1] != "start", out
    bad, good = "simple_spread_v3/maddpg-batch_size128/seed0", "simple_spread_v3/maddpg-batch_size32/seed0"
    reason = "minimal_size=64 is invalid: expected an integer between batch_size (128)"
    assert f"warning: trial {bad} will fail" in err
    assert f"failed: {bad}: MADDPGConfig.{reason}" in err and "Traceback" not in err + out
    assert "2 trials: " in out and "1 done" in out and "1 failed" in out
    assert finished(os.path.join(root, good))
    assert records(root)[bad]["status"] == "failed" and reason in records(root)[bad]["error"]
    with open(os.path.join(root, "report.md")) as f:
        assert reason in f.read()


@pytest.mark.extended  # Ray Tune's sampling and scheduler; the default run keeps the grids
def test_random_search_with_asha(ray_session, tmp_path):
    spec = {**GRID, "algorithms": ["maddpg"], "seeds": [0], "num_samples": 3,
            "options": {**TINY, "episodes": 30,
                        "actor_lr": {"loguniform": [1.0e-4, 1.0e-1]}},
            "scheduler": {"asha": {"grace_period": 10, "reduction_factor": 2}}}
    root = str(tmp_path / "search")
    assert main(["sweep", write(tmp_path / "s.yaml", spec), "--out", root, "--quiet"]) == 0
    trials = records(root)
    assert len(trials) == 3 and {r["status"] for r in trials.values()} <= {"done",
                                                                          "stopped early"}
    assert "done" in {r["status"] for r in trials.values()}  # the first rung keeps one
    for folder, record in trials.items():
        lr = config(os.path.join(root, folder))["actor_lr"]
        assert 1.0e-4 <= lr <= 1.0e-1 and lr == record["options"]["actor_lr"]
        assert folder.startswith(f"simple_spread_v3/maddpg-actor_lr{lr:.3g}-t")
        rows = metrics(os.path.join(root, folder))
        assert record["episode"] == int(rows[-1]["episode"])
        assert (record["status"] == "done") == (record["episode"] == 30)


def test_the_engine_without_ray_resumes_a_sweep_the_same(unbroken, tmp_path, capsys):
    _, reference = unbroken
    root = str(tmp_path / "copy")
    shutil.copytree(reference, root)
    shutil.rmtree(os.path.join(root, FOLDERS[1]))
    assert main(["sweep", "--resume", root, "--engine", "local"]) == 0
    assert "4 trials: 4 done" in capsys.readouterr().out
    assert metrics(os.path.join(root, FOLDERS[1])) == metrics(os.path.join(reference,
                                                                           FOLDERS[1]))


@pytest.mark.parametrize("change, words", [
    ({"seed": [0]}, "unknown key 'seed' (did you mean seeds?)"),
    ({"algorithms": ["maddpgg"]}, "unknown algorithm 'maddpgg' (did you mean maddpg?)"),
    ({"scenarios": ["simple_sprad_v3"]}, "unknown scenario 'simple_sprad_v3' (did you mean "
                                         "simple_spread_v3?)"),
    ({"algorithms": ["maddpg", "mappo"], "options": {"tau": 0.05}},
     "options: tau is not a field of algo mappo"),
    ({"options": {"batch_sise": 32}}, "unknown option 'batch_sise' (did you mean batch_size?)"),
    ({"options": {"gamma": {"uniform": [0.99]}}}, "needs two numbers [low, high]"),
    ({"options": {"batch_size": {"uniform": [16, 64]}}}, "batch_size is an integer; use "
                                                         "{randint"),
    ({"num_samples": 2}, "num_samples: 2 repeats trials with the same values"),
    # A value every trial holding it would fail on, in train's words (--gamma 2.0 is ...).
    ({"options": {**TINY, "gamma": [0.9, 2.0]}},
     "options: gamma: 2.0 is invalid: expected a finite float in [0, 1]."),
    ({"algorithms": ["maddpg", {"algo": "matd3", "options": {"tau": 0}}]},
     "the options of algorithm matd3: tau: 0 is invalid: expected a finite float in (0, 1]."),
    ({"options": {**TINY, "gamma": {"uniform": [0.5, 2.0]}}},
     "options: gamma: {uniform: [0.5, 2.0]} (its high end) is invalid"),
    ({"options": {**TINY, "batch_size": [128]}},
     "options: minimal_size: 64 is invalid: expected an integer between batch_size (128)"),
    ({"scheduler": {"asha": {"metric": "return/nobody"}}}, "metric return/nobody is not "
                                                           "reported by scenario"),
])
def test_a_bad_sweep_file_is_refused_in_one_line(tmp_path, capsys, change, words):
    root = tmp_path / "out"
    status = main(["sweep", write(tmp_path / "bad.yaml", {**GRID, **change}), "--out",
                   str(root)])
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.startswith("tf-maddpg sweep: error: ") and words in err, err
    assert len(err.strip().splitlines()) == 2  # the error and the hint to --help
    assert not os.path.exists(root / "sweep.yaml")


def test_the_spec_reads_back_what_it_writes_and_grids_every_value():
    spec = parse_spec({**GRID, "options": {**TINY, "hidden_sizes": [[8], [16, 16]],
                                           "gamma": [0.9, 0.95], "actor_lr": "1e-3"}})
    assert parse_spec(spec.to_dict()) == spec
    assert spec.options["actor_lr"] == 0.001  # YAML's 1e-3 is text; a float field reads it
    folders = [spec.folder(t) for t in spec.grid()]
    assert len(folders) == len(set(folders)) == 2 * 2 * 2 * 2
    assert "simple_spread_v3/matd3-hidden_sizes16x16-gamma0.95/seed1" in folders
    one = parse_spec({**GRID, "options": {**TINY, "gamma": [0.9]}})  # a grid of one value
    assert {one.config_values(t)["gamma"] for t in one.grid()} == {0.9}
    assert one.varying == [] and one.folder(one.grid()[0]) == "simple_spread_v3/maddpg/seed0"
    with pytest.raises(SpecError, match="grids and search spaces go in the sweep's top-level"):
        parse_spec({**GRID, "algorithms": [{"algo": "maddpg", "options": {"tau": [0.1, 0.2]}}]})


def test_without_ray_the_error_names_the_install_command(tmp_path):
    code = ("import sys; sys.modules['ray'] = None\n"  # as if Ray were not installed
            "from tf_maddpg.cli import main\n"
            f"sys.exit(main(['sweep', {write(tmp_path / 's.yaml', GRID)!r}, '--out', "
            f"{str(tmp_path / 'out')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == ('tf-maddpg sweep: error: Ray Tune is not installed: pip '
                                   'install -e ".[ray]" (or pip install "ray[tune]>=2.60,'
                                   '<2.61"); or run without Ray: --engine local')


def test_sweep_help():
    done = subprocess.run([script(), "sweep", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "usage: tf-maddpg sweep" in done.stdout
    assert "--cpus-per-trial" in done.stdout and "--address" in done.stdout


def test_the_results_sweep_is_the_results_train_commands():
    """docs/results through the sweep: each trial of examples/scenario_results.py's
    sweep file is the run its `tf-maddpg train` command makes, in the same folder."""
    import importlib.util

    from tf_maddpg.algorithms.registry import config_from_dict
    from tf_maddpg.cli import build_parser, config_from, env_kwargs_from

    path = os.path.join(os.path.dirname(__file__), "..", "examples", "scenario_results.py")
    loader = importlib.util.spec_from_file_location("scenario_results_for_sweep", path)
    results = importlib.util.module_from_spec(loader)
    sys.modules[loader.name] = results  # dataclasses look their module up there
    loader.loader.exec_module(results)
    spec = parse_spec(results.sweep_file(results.ROWS, results.ALGOS, results.SEEDS))
    trials = {spec.folder(t): t for t in spec.grid()}
    assert len(trials) == 14 * 2 * 3
    for row in results.ROWS:
        for algo in results.ALGOS:
            for seed in results.SEEDS:
                out = results.run_dir(row, algo, seed)
                trial = trials[os.path.relpath(out, results.RUNS_DIR)]
                args = build_parser().parse_args(row.command(algo, seed, out)[1:])
                options = {k: v for k, v in vars(args).items()
                           if k in ("num_episodes", "eval_interval", "seed")}
                assert config_from_dict(spec.config_values(trial)) == \
                    config_from(None, options, args.algo)
                assert spec.scenario_of(trial).env_args == env_kwargs_from(args.env_args,
                                                                           args.env)


@pytest.mark.extended  # compare itself is tested without Ray in test_compare.py
def test_compare_runs_its_runs_on_ray_with_the_same_results(ray_session, tmp_path, capsys):
    pytest.importorskip("torch")
    argv = ["compare", "simple_adversary_v3", "--seeds", "0", "--episodes", "4",
            "--eval-interval", "2", "--eval-episodes", "1", "--batch-size", "32",
            "--minimal-size", "32", "--update-interval", "10", "--hidden-sizes", "16",
            "--jobs", "2"]
    assert main(argv + ["--engine", "ray", "--out", str(tmp_path / "ray")]) == 0
    printed = capsys.readouterr().out
    assert "tf seed 0:" in printed and "torch seed 0:" in printed
    # The same runs in this process, one after the other (the sides are deterministic).
    assert main(argv[:-2] + ["--out", str(tmp_path / "local")]) == 0
    for run in ("tf/seed0", "torch/seed0"):
        assert metrics(tmp_path / "ray" / run) == metrics(tmp_path / "local" / run), run
    assert (tmp_path / "ray" / "compare.md").exists()
    assert main(argv[:-2] + ["--engine", "local", "--address", "auto",
                             "--out", str(tmp_path / "x")]) == 2
    assert "--address is a Ray cluster's; it needs --engine ray" in capsys.readouterr().err


def test_a_cluster_address_where_nothing_answers_fails_at_once(tmp_path, capsys):
    pytest.importorskip("ray")
    started = time.monotonic()
    assert main(["sweep", write(tmp_path / "s.yaml", GRID), "--out", str(tmp_path / "s"),
                 "--address", "127.0.0.1:1"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach the Ray cluster at 127.0.0.1:1: nothing answers at 127.0.0.1:1" in err
    assert "ray start --head" in err and "Traceback" not in err
    assert time.monotonic() - started < 30



def test_the_local_engines_trials_start_with_its_blas_threads(monkeypatch):
    from tf_maddpg.sweep.local import _blas_threads_of_children

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "4")  # the user's own stays
    with _blas_threads_of_children(1):
        assert (os.environ["OPENBLAS_NUM_THREADS"], os.environ["OMP_NUM_THREADS"]) == ("1", "4")
    assert "OPENBLAS_NUM_THREADS" not in os.environ and os.environ["OMP_NUM_THREADS"] == "4"

"""The example scripts, end to end in a subprocess, with a tiny budget."""

import csv
import os
import subprocess
import sys

import numpy as np

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
    assert "--episodes 0 is invalid: expected an integer >= 1" in proc.stderr


def load_example(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "examples", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_results_command_is_a_valid_train_command():
    import shlex

    from tf_maddpg.cli import build_parser, config_from, env_kwargs_from

    proc = run("scenario_results.py", "commands")
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == 14 * 2 * 3  # rows x algorithms x seeds
    for line in lines:
        argv = shlex.split(line)
        assert argv[:2] == ["tf-maddpg", "train"]
        args = build_parser().parse_args(argv[1:])
        options = {k: v for k, v in vars(args).items() if k in ("num_episodes", "eval_interval")}
        assert config_from(None, options, args.algo).num_episodes in (5_000, 10_000)
        env_kwargs_from(args.env_args, args.env)  # valid scenario options


def test_the_results_report_builds_the_table_from_run_folders(tmp_path, monkeypatch):
    from tf_maddpg import MADDPGConfig, MATD3Config, make_env
    from tf_maddpg.runs.metrics import MetricsCSV, metric_columns
    from tf_maddpg.runs.folder import write_run_files

    results = load_example("scenario_results")
    monkeypatch.setattr(results, "RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr(results, "DOCS_DIR", str(tmp_path / "docs"))
    monkeypatch.setattr(results, "ROWS", [results.Row("simple_adversary", "simple_adversary_v3",
                                                      200, published="a figure")])
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "README.md").write_text(f"intro\n{results.MARKERS[0]}\nold\n"
                                                 f"{results.MARKERS[1]}\noutro\n")
    specs = make_env("simple_adversary_v3").specs
    names = [s.name for s in specs]
    for algo, config in (("maddpg", MADDPGConfig()), ("matd3", MATD3Config())):
        for seed in results.SEEDS:
            folder = results.run_dir(results.ROWS[0], algo, seed)
            write_run_files(folder, "simple_adversary_v3", {}, specs, config)
            os.makedirs(os.path.join(folder, "saved_model"))
            log = MetricsCSV(os.path.join(folder, "metrics.csv"), metric_columns(names))
            for episode in (100, 200):  # adversary -10 - seed, agents +seed (MATD3: +1)
                row = {"episode": episode, "env_steps": episode * 25, "wall_s": 60.0 * episode}
                row.update({f"return/{n}": (-10.0 - seed) if n.startswith("adv")
                            else seed + (algo == "matd3") for n in names})
                log.write({k: row.get(k, float("nan")) for k in metric_columns(names)})
    results.report()
    text = (tmp_path / "docs" / "README.md").read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old" not in text
    lines = [line for line in text.splitlines() if line.startswith("| ")]  # no |---| rule
    assert lines[1].startswith("| simple_adversary ([maddpg](simple_adversary/maddpg.png) "
                               "[matd3](simple_adversary/matd3.png)) | adversary (1) |")
    # first evaluation (both algorithms' runs), MADDPG, MATD3:
    assert "| -11.00 ± 0.82 | -11.00 ± 0.82 | -11.00 ± 0.82 | 200 / 5000 | 200.0 min / 200.0 min | a figure |" \
        in lines[1]
    assert lines[2].startswith("|  | agent (2) |") and "| 1.50 ± 0.96 | 1.00 ± 0.82 | 2.00 ± 0.82 |" in lines[2]
    assert (tmp_path / "docs" / "simple_adversary" / "matd3.png").exists()
    assert (tmp_path / "docs" / "simple_adversary" / "maddpg" / "seed2" / "metrics.csv").exists()


def test_the_results_report_scores_one_side_against_random_opponents(tmp_path):
    from tf_maddpg import make_env
    from tf_maddpg.networks import make_actor
    from tf_maddpg import MultiAgentPolicy, save_actors
    from tf_maddpg.envs import VecEnv
    from tf_maddpg.seeding import RunSeeds
    from tf_maddpg.training import evaluate

    results = load_example("scenario_results")
    row = results.Row("simple_adversary", "simple_adversary_v3", 200,
                      teams=(("adversary",), ("agent",)))
    env = make_env("simple_adversary_v3", max_cycles=25)
    actors = [make_actor(spec) for spec in env.specs]
    save_actors(actors, env.specs, tmp_path / "actors")
    # Both sides with the run's actors: the greedy evaluation of those actors.
    both = results.random_returns(row, episodes=3, run=str(tmp_path),
                                  trained=("adversary", "agent"))
    greedy = evaluate(MultiAgentPolicy(env.specs, actors), VecEnv.of(env),
                      RunSeeds(0).evaluation_seeds(3), 25)
    assert np.allclose(list(both.values()), greedy)
    # No side trained: the random policy's score.
    assert results.random_returns(row, episodes=3, run=str(tmp_path)) == \
        results.random_returns(row, episodes=3)
    one = results.random_returns(row, episodes=3, run=str(tmp_path), trained=("adversary",))
    assert one["adversary_0"] != results.random_returns(row, episodes=3)["adversary_0"]
    lines = results.versus_random(row, {"maddpg": [str(tmp_path)], "matd3": []},
                                  results.random_returns(row, episodes=3), episodes=3)
    assert [line.split(" | ")[1] for line in lines] == ["adversary (1)", "agent (2)"]


def test_spread_coverage_counts_every_episode_of_a_run(tmp_path, capsys):
    """In this process (the script's imports are already loaded): the table has a row per
    run whose counts add up to the episodes played."""
    import importlib.util

    from tf_maddpg import MADDPGConfig, train

    tiny = dict(batch_size=8, buffer_size=64, minimal_size=64, hidden_sizes=(8,),
                episode_length=5, eval_interval=2, eval_episodes=1)  # no update: no tracing
    train(MADDPGConfig(num_episodes=2, **tiny), "simple_spread_v3", env_kwargs={"N": 2},
          out_dir=str(tmp_path / "spread"), verbose=False)
    spec = importlib.util.spec_from_file_location(
        "spread_coverage", os.path.join(ROOT, "examples", "spread_coverage.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)

    assert script.main([str(tmp_path / "spread"), "--episodes", "7"]) == 0
    row = capsys.readouterr().out.strip().splitlines()[-1].split("|")
    assert row[1].strip() == str(tmp_path / "spread")
    assert int(row[2]) + int(row[3]) == 7  # 2 of 2 landmarks covered, or 1 of 2
    assert float(row[4]) >= 0.0


def test_the_family_report_keeps_a_run_that_differs_only_in_how_it_computed():
    # On a machine without runs/, the report reads the runs kept in docs; one made before
    # XLA became the on-policy default (jit_compile false) is still the table's run.
    family = load_example("family_results")
    row = family.ROWS[0]
    expected = family.expected_config(row, "mappo", 0)
    assert family.same_run(dict(expected, jit_compile=not expected["jit_compile"],
                                env_workers=2), expected)
    assert not family.same_run(dict(expected, gamma=0.5), expected)
    assert not family.same_run(dict(expected, num_episodes=1), expected)


def test_the_family_box_runs_train_maddpg_and_matd3_with_box_actions():
    # HARL's MADDPG and MATD3 curves are of Box actions: `run --box` must train with them
    # (the scenario's continuous_actions), on the table's budget, into its own folder.
    from tf_maddpg.sweep import parse_spec

    family = load_example("family_results")
    spec = parse_spec(family.sweep_file(family.BOX_ALGOS, family.SEEDS, None, family.BOX_ROWS))
    assert [s.name for s in spec.scenarios] == [family.slug(r) for r in family.ROWS[:3]]
    assert all(s.env_args == {"continuous_actions": True} for s in spec.scenarios)
    assert [a.algo for a in spec.algorithms] == ["maddpg", "matd3"]
    assert spec.options["num_episodes"] == family.EPISODES
    table = parse_spec(family.sweep_file(["maddpg"], [0]))
    assert all(not s.env_args for s in table.scenarios)  # the table's rows stay Discrete

"""The whole family at one budget: every algorithm on five mpe2 scenarios, three seeds,
2M env steps per run; the table, and curves against env steps and wall-clock time.

    python examples/family_results.py run --jobs 2        # trains whatever is missing
    python examples/family_results.py run --algos mappo   # one algorithm
    python examples/family_results.py report              # docs/results/family/README.md
    python examples/family_results.py run --probe         # IQL and VDN with gamma 0.9
    python examples/family_results.py run --long          # MAPPO and HAPPO to 10M
    python examples/family_results.py run --variant qmix-gamma0.99   # a named setting
    python examples/family_results.py run --box       # MADDPG and MATD3 with Box actions

``run`` trains each (scenario, algorithm, seed) as one sweep (``tf_maddpg.sweep``,
``sweep_file`` below) with the algorithm's default settings (but IQL's and VDN's
discount: ``TABLE_OPTIONS``), 80,000 episodes of 25 steps (2M env steps),
evaluating every 3,200 episodes (80,000 env steps) on 100 greedy episodes,
into ``runs/family/SCENARIO/ALGO/seedS``; it skips finished runs and resumes
stopped ones. MADDPG and MATD3 act in 16 environments at once (``--num-envs
16``: the same update schedule, counted in env steps, as one environment).
``report`` copies each run's metrics.csv and config.json to
``docs/results/family/``, draws per scenario the curves of every algorithm
(the mean return per agent of each agent group, mean and min-max band over
the seeds) against env steps and against wall-clock seconds, and writes the
table into ``docs/results/family/README.md`` between its markers.

``--long`` trains HARL's budget instead: MAPPO and HAPPO with their defaults to
10M env steps on the three cooperative scenarios, 3 seeds, into
``runs/family10m/``; each run starts from the table's finished 2M run of its
seed (copied, then resumed: the same run as one never stopped). The report
compares both, at 2M and at 10M, with HARL's published curves (``PUBLISHED``).

``--variant NAME`` trains a named setting instead (``VARIANTS``: one algorithm on
one scenario, its own seeds (the table's three unless it names others), the table's
command line with a few settings changed), into ``runs/family_variants/NAME/``; the
report sets each beside the runs of the defaults with the same seeds.

``--box`` trains MADDPG and MATD3 with Box (continuous) actions instead, their
defaults otherwise, on the three cooperative scenarios, 3 seeds, the table's budget,
into ``runs/family_box/``: HARL's published MADDPG and MATD3 curves are of Box
actions, the table's rows of Discrete ones; the report sets the three side by side.

``--probe`` trains the discount probe instead: IQL and VDN with gamma 0.9 (their
default now, 0.99 in the table) on the three cooperative scenarios, 3 seeds,
half the budget, into ``runs/family_gamma/``; ``report`` sets it beside the
table's runs at the same env steps (``probe_report``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
from typing import List, Optional

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario_results import (Row, _mean_std, finished, groups, random_returns,  # noqa: E402
                              slug, write_between)

from tf_maddpg.algorithms.registry import ALGORITHMS  # noqa: E402
from tf_maddpg.config import RESUMABLE_FIELDS  # noqa: E402

ALGOS = tuple(ALGORITHMS)
SEEDS = (0, 1, 2)
EPISODES = 80_000
EVAL_INTERVAL = 3_200
RUNS_DIR = os.path.join("runs", "family")
DOCS_DIR = os.path.join("docs", "results", "family")
LAST = 3  # the final return: mean of the last LAST evaluations (the last 240k env steps)
MARKERS = ("<!-- family table: start -->", "<!-- family table: end -->")
# A run made another way than the table's (another machine, or one BLAS thread) says how
# in this file of its folder; its speed (and wall-clock curve) is marked, the file copied.
MADE_ON = "made_on.txt"
ROWS = [
    Row("simple_spread", "simple_spread_v3", EPISODES),
    Row("simple_speaker_listener", "simple_speaker_listener_v4", EPISODES),
    Row("simple_reference", "simple_reference_v3", EPISODES),
    Row("simple_adversary", "simple_adversary_v3", EPISODES, teams=(("adversary",), ("agent",))),
    Row("simple_tag", "simple_tag_v3", EPISODES, teams=(("adversary",), ("agent",))),
]
OFF_POLICY_ENVS = 16
TABLE_OPTIONS = {"iql": {"gamma": 0.99}, "vdn": {"gamma": 0.99}}
"""The table's settings that are not the algorithm's default: IQL and VDN ran with
EPyMARL's discount 0.99, their default until JaxMARL's 0.9 did better (the page's
section "IQL and VDN with gamma 0.9"); pinned so that the missing runs match the rest."""

# The discount probe: IQL and VDN with gamma 0.9 on the cooperative rows, 1M env steps.
PROBE_DIR = os.path.join("runs", "family_gamma")
PROBE_DOCS = os.path.join(DOCS_DIR, "gamma0.9")
PROBE_ROWS = ROWS[:3]
PROBE_ALGOS = ("iql", "vdn")
PROBE_EPISODES = 40_000
PROBE_OPTIONS = {"gamma": 0.9}
PROBE_STEPS = (480_000, 960_000)  # where the two discounts are compared
PROBE_MARKERS = ("<!-- gamma table: start -->", "<!-- gamma table: end -->")


# HARL's budget: 10M env steps, MAPPO and HAPPO with their defaults.
LONG_DIR = os.path.join("runs", "family10m")
LONG_DOCS = os.path.join(DOCS_DIR, "10M")
LONG_ROWS = ROWS[:3]
LONG_EPISODES = 400_000
LONG_OPTIONS = {"mappo": {}, "happo": {}}
"""The long runs' settings on top of the table's command line (none: the defaults, so
that each continues the table's 2M run of its seed)."""
LONG_MARKERS = ("<!-- long table: start -->", "<!-- long table: end -->")

# HARL's MADDPG and MATD3 act with Box actions: ours with Box actions, beside HARL's curves.
BOX_DIR = os.path.join("runs", "family_box")
BOX_DOCS = os.path.join(DOCS_DIR, "box")
BOX_ROWS = [dataclasses.replace(row, env_args=(("continuous_actions", True),))
            for row in ROWS[:3]]
BOX_ALGOS = ("maddpg", "matd3")
BOX_MARKERS = ("<!-- box table: start -->", "<!-- box table: end -->")

# The physics experiment: the same configuration on mpe2 and on mpe2's scenarios with the
# original MPE's order of integration (examples/legacy_physics.py), beside HARL's curves.
PHYSICS_DIR = os.path.join("runs", "physics")
PHYSICS_DOCS = os.path.join(DOCS_DIR, "physics")
PHYSICS_MARKERS = ("<!-- physics table: start -->", "<!-- physics table: end -->")
PHYSICS_STEPS = (1_000_000, 2_000_000, 4_000_000, 10_000_000)


@dataclasses.dataclass(frozen=True)
class PhysicsRun:
    """One run of the physics experiment: ``algo`` on ``row`` with ``preset`` (None: the
    defaults) on ``physics`` ("mpe2", or "original": the original MPE's order), ``seed``,
    trained to ``episodes`` (HARL's budget unless said; a row of the table shows the
    returns up to each of PHYSICS_STEPS that the run reached)."""

    row: Row
    algo: str
    preset: Optional[str]
    physics: str
    seed: int = 0
    episodes: int = LONG_EPISODES


PHYSICS_RUNS = [
    PhysicsRun(ROWS[0], "happo", "harl", "original"),
    # HAPPO's stuck seed on simple_spread: seeds 1 and 2 of HARL's settings on HARL's
    # physics, and the defaults' three seeds on both orders, at the table's budget (the
    # defaults on mpe2: the long runs).
    *(PhysicsRun(ROWS[0], "happo", "harl", "original", seed, EPISODES) for seed in SEEDS[1:]),
    PhysicsRun(ROWS[0], "happo", "harl", "mpe2"),
    *(PhysicsRun(ROWS[0], "happo", None, "original", seed, EPISODES) for seed in SEEDS),
    *(PhysicsRun(ROWS[0], "happo", None, "mpe2", seed) for seed in SEEDS),
    PhysicsRun(ROWS[0], "mappo", "harl", "mpe2"),
    PhysicsRun(ROWS[0], "mappo", None, "mpe2"),
    PhysicsRun(ROWS[2], "happo", None, "original"),
    PhysicsRun(ROWS[2], "happo", "harl", "original"),
    PhysicsRun(ROWS[2], "happo", None, "mpe2"),
]
"""Each run of the experiment."""


@dataclasses.dataclass(frozen=True)
class Published:
    """A published figure converted to mpe2's mean return per agent (FAMILY.md,
    "Published figures on mpe2's scale": the conversions exact, the figures read off
    plots, +-1 on simple_spread and +-0.5 elsewhere; the integration-order cost applied).

    Attributes:
      at_2m: at 2M env steps (None: not read).
      full: at the source's full budget; budget: its length (e.g. "10M").
      source: who published it and how it was converted.
    """

    at_2m: Optional[float]
    full: Optional[float]
    budget: str
    source: str


ORDER_COST = {"simple_spread": 0.8, "simple_speaker_listener": 1.35, "simple_reference": 1.0}
"""FAMILY.md's cost of mpe2's order of integration, per agent, by scenario: what the
published figures below subtract from HARL's curves (which ran the original order)."""
_HARL_SPREAD = ("HARL's curve (PettingZoo 1.22.2, the 3 agents' sum R): (R + 37.5) / 3, "
                "then -0.8 for mpe2's integration order")
_HARL_SL = "HARL's curve (the 2 agents' sum): / 2, then -1.35 for mpe2's integration order"
_HARL_REF = "HARL's curve (the 2 agents' sum): / 2, then -1.0 for mpe2's integration order"
PUBLISHED = {
    ("simple_spread", "mappo"): Published(-14.8, -8.0, "10M", _HARL_SPREAD),
    ("simple_spread", "happo"): Published(-11.9, -9.3, "10M", _HARL_SPREAD),
    ("simple_spread", "maddpg"): Published(-11.0, -9.6, "5M", _HARL_SPREAD + "; Box actions"),
    ("simple_spread", "matd3"): Published(-10.3, -9.3, "5M", _HARL_SPREAD + "; Box actions"),
    ("simple_spread", "qmix"): Published(None, -8.3, "2.05M",
                                         "EPyMARL's best (the QMIX family), paper's 'around "
                                         "-120' of the original MPE's shared sum: (R + 75) / 6; "
                                         "rough"),
    ("simple_speaker_listener", "mappo"): Published(-9.6, -8.6, "10M", _HARL_SL),
    ("simple_speaker_listener", "happo"): Published(-7.8, -6.9, "10M", _HARL_SL),
    ("simple_speaker_listener", "maddpg"): Published(-6.4, None, "", _HARL_SL + "; Box actions"),
    ("simple_speaker_listener", "matd3"): Published(-5.9, None, "", _HARL_SL + "; Box actions"),
    ("simple_reference", "mappo"): Published(-17.9, -7.3, "10M", _HARL_REF),
    ("simple_reference", "happo"): Published(-17.9, -7.0, "10M", _HARL_REF),
    ("simple_reference", "maddpg"): Published(-8.5, None, "", _HARL_REF + "; Box actions"),
    ("simple_reference", "matd3"): Published(-7.5, None, "", _HARL_REF + "; Box actions"),
}
"""FAMILY.md's published figures on mpe2's scale, by (scenario folder, algorithm).
IPPO, IQL and VDN have none there; the competitive scenarios none that compare
(EPyMARL plays them against pretrained fixed opponents)."""


def run_dir(row: Row, algo: str, seed: int) -> str:
    return os.path.join(RUNS_DIR, slug(row), algo, f"seed{seed}")


def probe_dir(row: Row, algo: str, seed: int) -> str:
    return os.path.join(PROBE_DIR, slug(row), algo, f"seed{seed}")


def long_dir(row: Row, algo: str, seed: int) -> str:
    return os.path.join(LONG_DIR, slug(row), algo, f"seed{seed}")


def made_elsewhere(path: str) -> bool:
    """A run made another way than the table's, its speed not comparable (its folder
    holds ``MADE_ON``)."""
    return os.path.exists(os.path.join(path, MADE_ON))


def command(row: Row, algo: str, seed: int) -> List[str]:
    """The ``tf-maddpg train`` command line of one run (the sweep's trial of it)."""
    argv = ["tf-maddpg", "train", row.scenario, "--algo", algo, "--episodes", str(EPISODES),
            "--eval-interval", str(EVAL_INTERVAL), "--eval-episodes", "100",
            "--checkpoint-interval", str(EVAL_INTERVAL * 5), "--seed", str(seed),
            "--out", run_dir(row, algo, seed), "--quiet", "--threads", "1"]
    if ALGORITHMS[algo].loop == "off_policy":
        argv += ["--num-envs", str(OFF_POLICY_ENVS)]
    for field, value in TABLE_OPTIONS.get(algo, {}).items():
        argv += ["--" + field.replace("_", "-"), str(value)]
    return argv


def sweep_file(algos, seeds, only=None, rows=ROWS, episodes=EPISODES,
               options=TABLE_OPTIONS) -> dict:
    """The sweep (``tf-maddpg sweep``'s file) of these runs: what ``command`` gives
    (``options``: settings per algorithm on top of its defaults)."""
    return {"scenarios": [{"scenario": row.scenario, "name": slug(row),
                           **({"env_args": dict(row.env_args)} if row.env_args else {})}
                          for row in rows if not only or slug(row) in only],
            "algorithms": [{"algo": a, "options": {"num_envs": OFF_POLICY_ENVS,
                                                   **options.get(a, {})}}
                           if ALGORITHMS[a].loop == "off_policy" else
                           {"algo": a, "options": options[a]} if options.get(a) else a
                           for a in algos],
            "seeds": list(seeds),
            "options": {"episodes": episodes, "eval_interval": EVAL_INTERVAL,
                        "eval_episodes": 100, "checkpoint_interval": EVAL_INTERVAL * 5}}


def run_all(jobs: int, algos, seeds, only, engine=None, probe=False, long=False,
            variant: Optional[str] = None, box: bool = False) -> None:
    """Trains the missing runs as one sweep into RUNS_DIR (Ray Tune where it is
    installed, else the sweep's engine without Ray): finished runs are skipped, stopped
    ones resume, ``jobs`` runs at a time with one TensorFlow thread each. ``probe``:
    the discount probe's runs into PROBE_DIR instead; ``long``: the 10M runs into
    LONG_DIR (each starts from its finished 2M run in RUNS_DIR, copied); ``variant``:
    that named setting's runs (``VARIANTS``) into its runs_root; ``box``: MADDPG's and
    MATD3's runs with Box actions into BOX_DIR."""
    from tf_maddpg.sweep import parse_spec, run_sweep
    from tf_maddpg.sweep.run import default_engine

    if probe:
        spec = sweep_file([a for a in algos if a in PROBE_ALGOS], seeds, only, PROBE_ROWS,
                          PROBE_EPISODES, {a: PROBE_OPTIONS for a in PROBE_ALGOS})
    elif variant:
        chosen = VARIANTS[variant]
        spec = sweep_file([chosen.algo], seeds, [slug(chosen.row)], [chosen.row],
                          options=chosen.settings()["options"])
    elif box:
        spec = sweep_file([a for a in algos if a in BOX_ALGOS], seeds, only, BOX_ROWS)
    elif long:
        chosen = [a for a in algos if a in LONG_OPTIONS]
        for row in LONG_ROWS:
            for seed in seeds:
                for a in chosen:
                    if not only or slug(row) in only:
                        start_from_table(row, a, seed)
        spec = sweep_file(chosen, seeds, only, LONG_ROWS, LONG_EPISODES, LONG_OPTIONS)
    else:
        spec = sweep_file(algos, seeds, only)
    root = (PROBE_DIR if probe else LONG_DIR if long else BOX_DIR if box else
            VARIANTS[variant].runs_root if variant else RUNS_DIR)
    result = run_sweep(parse_spec(spec), root, engine=engine or default_engine(),
                       cpus_per_trial=1, max_concurrent=jobs, report=False)
    for record in result.failed:
        if made_elsewhere(os.path.join(root, record.folder)):
            # Finished on another machine; its checkpoints (the replay buffer) stayed there,
            # so the sweep refuses to resume it: it is kept as it is.
            print(f"kept: {record.folder} (made elsewhere, see its {MADE_ON})", flush=True)
        else:
            print(f"failed: {record.folder}: {record.error}", flush=True)


def start_from_table(row: Row, algo: str, seed: int) -> None:
    """A long run that does not exist yet starts as a copy of the table's finished 2M run
    of the same settings and seed (resuming it to 10M is the run never stopped)."""
    source, target = run_dir(row, algo, seed), long_dir(row, algo, seed)
    if os.path.exists(target) or not finished(source):
        return
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("saved_model", "actors"))
    print(f"{target}: starts from {source} (2M env steps)", flush=True)


def copy_run(source: str, target: str) -> None:
    """A finished run's metrics, config and summary (and where it was made) into docs."""
    if os.path.abspath(source) == os.path.abspath(target):
        return
    os.makedirs(target, exist_ok=True)
    for name in ("metrics.csv", "config.json", "run.json"):
        shutil.copy(os.path.join(source, name), target)
    if made_elsewhere(source):
        shutil.copy(os.path.join(source, MADE_ON), target)


def expected_config(row: Row, algo: str, seed: int, rows=ROWS, episodes=EPISODES,
                    options=TABLE_OPTIONS) -> dict:
    """The configuration (``to_dict``) that the run's sweep trial trains now."""
    from tf_maddpg.algorithms.registry import config_from_dict
    from tf_maddpg.sweep import parse_spec

    spec = parse_spec(sweep_file([algo], [seed], [slug(row)], rows, episodes, options))
    (trial,) = spec.grid()
    return config_from_dict(spec.config_values(trial)).to_dict()


def run_source(row: Row, algo: str, seed: int, runs_root: str = RUNS_DIR,
               docs_root: str = DOCS_DIR, **settings) -> Optional[str]:
    """The folder holding the run's metrics: the finished run under ``runs_root``, else
    its copy under ``docs_root`` where that was trained with the configuration the run
    gets now (``expected_config`` with ``settings``), else None (to be run)."""
    from tf_maddpg.algorithms.registry import config_from_dict

    here = os.path.join(runs_root, slug(row), algo, f"seed{seed}")
    if finished(here):
        return here
    kept = os.path.join(docs_root, slug(row), algo, f"seed{seed}")
    if not os.path.exists(os.path.join(kept, "metrics.csv")):
        return None
    with open(os.path.join(kept, "config.json")) as f:
        saved = config_from_dict(json.load(f), saved=True).to_dict()
    expected = expected_config(row, algo, seed, **settings)
    return kept if same_run(saved, expected) else None


HOW_IT_COMPUTES = tuple(f for f in RESUMABLE_FIELDS if f != "num_episodes")
"""Config fields that change how a run computes, not what (the fields a resume may change,
but the episodes): a run kept in docs that differs from the table's configuration only in
these (made before XLA became the on-policy default, say) is the table's run."""


def same_run(saved: dict, expected: dict) -> bool:
    """The two configurations train the same run (``HOW_IT_COMPUTES`` left out)."""
    def what(config):
        return {k: v for k, v in config.items() if k not in HOW_IT_COMPUTES}

    return what(saved) == what(expected)


def mean_return(row_of_metrics: dict, members) -> float:
    """A metrics row's mean return per agent over ``members``."""
    return float(np.mean([row_of_metrics[f"return/{n}"] for n in members]))


def agents(run: List[dict]) -> List[str]:
    """The agent names of a run's metrics (its ``return/NAME`` columns)."""
    return [k[len("return/"):] for k in run[0] if k.startswith("return/")]


def final(run: List[dict], members, up_to: Optional[int] = None) -> float:
    """The final return: the mean over the last LAST evaluations (up to ``up_to`` env
    steps) of the mean return per agent of ``members``."""
    kept = [r for r in run if up_to is None or r["env_steps"] <= up_to][-LAST:]
    return float(np.mean([mean_return(r, members) for r in kept]))


def probe_report() -> str:
    """The discount probe's table: IQL and VDN with the table's gamma 0.99 and with 0.9,
    the mean return per agent of each seed at PROBE_STEPS and the mean of the LAST
    evaluations up to the last of them; copies the probe's runs to PROBE_DOCS."""
    from tf_maddpg.runs.metrics import read_metrics

    def at(run, steps):
        (value,) = [np.mean([v for k, v in r.items() if k.startswith("return/")])
                    for r in run if r["env_steps"] == steps]
        return value

    steps = " | ".join(f"{n / 1e6:.2f}M (seeds {'/'.join(map(str, SEEDS))})"
                       for n in PROBE_STEPS)
    lines = [f"| scenario | algorithm | gamma | {steps} | the last {LAST} to "
             f"{PROBE_STEPS[-1] / 1e6:.2f}M, mean ± std |",
             "|---|---|---:|" + "---:|" * (len(PROBE_STEPS) + 1)]
    for row in PROBE_ROWS:
        for a in PROBE_ALGOS:
            for gamma, probe in ((TABLE_OPTIONS[a]["gamma"], False),
                                 (PROBE_OPTIONS["gamma"], True)):
                if probe:
                    settings = dict(runs_root=PROBE_DIR, docs_root=PROBE_DOCS, rows=PROBE_ROWS,
                                    episodes=PROBE_EPISODES,
                                    options={x: PROBE_OPTIONS for x in PROBE_ALGOS})
                else:
                    settings = {}
                sources = [run_source(row, a, s, **settings) for s in SEEDS]
                sources = [(s, src) for s, src in zip(SEEDS, sources) if src]
                if probe:
                    for seed, src in sources:
                        copy_run(src, os.path.join(PROBE_DOCS, slug(row), a, f"seed{seed}"))
                runs = [read_metrics(os.path.join(src, "metrics.csv")) for _, src in sources]
                cells = [" / ".join(f"{at(run, n):.2f}" for run in runs) or "-"
                         for n in PROBE_STEPS]
                finals = [final(run, agents(run), PROBE_STEPS[-1]) for run in runs]
                lines.append(f"| {row.name} | {a.upper()} | {gamma} | " + " | ".join(cells)
                             + f" | {_mean_std(finals)} |")
    return "\n".join(lines)


def _published(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.1f}"


def draw_curves(folder: str, row: Row, team: dict, runs: dict, rand: dict) -> None:
    """The row's curves into ``folder``: one panel per agent group, every algorithm's
    mean return per agent (mean and min-max band over the seeds) against env steps
    (``by_env_steps.png``) and against wall-clock seconds (``by_wall_s.png``)."""
    from tf_maddpg.runs.plots import draw_mean_and_band, plt

    for x, label in (("env_steps", "env steps"), ("wall_s", "wall-clock seconds")):
        fig, axes = plt.subplots(1, len(team), figsize=(6 * len(team), 4), squeeze=False)
        for ax, (group, members) in zip(axes[0], team.items()):
            for name, algo_runs in runs.items():
                rows = [[{**r, "group": mean_return(r, members)} for r in run]
                        for run in algo_runs]
                draw_mean_and_band(ax, rows, "group", name, x=x)
            ax.axhline(np.mean([rand[n] for n in members]), color="gray", ls=":",
                       label="random policy")
            ax.set_title(f"{row.name}: {group} ({len(members)})")
            ax.set_xlabel(label)
            ax.set_ylabel("mean evaluation return per agent")
            ax.grid(alpha=0.3)
            ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        os.makedirs(folder, exist_ok=True)
        fig.savefig(os.path.join(folder, f"by_{x}.png"), dpi=80)
        plt.close(fig)


def draw_row_curves(folder: str, row: Row, curves: dict) -> None:
    """``draw_curves`` of the runs in ``curves`` (label -> runs), grouped by the agents of
    the first, beside the row's random policy; nothing when there are none."""
    if curves:
        first = next(iter(curves.values()))[0]
        draw_curves(folder, row, groups(agents(first)), curves, random_returns(row))


def report() -> None:
    """The table (every run of the table: trained here under RUNS_DIR, or kept in docs
    with the configuration it gets now), the curves, the speeds, the published figures
    beside ours, the long runs' table and the discount probe's."""
    from tf_maddpg.runs.metrics import read_metrics

    sources = {(row.name, a, s): run_source(row, a, s) for row in ROWS for a in ALGOS
               for s in SEEDS}
    for row in ROWS:
        for a in ALGOS:
            for seed in SEEDS:
                kept = os.path.join(DOCS_DIR, slug(row), a, f"seed{seed}")
                if not sources[(row.name, a, seed)] and os.path.exists(kept):
                    # Trained with another configuration than the run gets now (a default
                    # or the algorithm changed since): the page shows only current runs.
                    shutil.rmtree(kept)
                    print(f"removed {kept}: made with another configuration", flush=True)
    done = {(row.name, a): [read_metrics(os.path.join(sources[(row.name, a, s)], "metrics.csv"))
                            for s in SEEDS if sources[(row.name, a, s)]]
            for row in ROWS for a in ALGOS}
    algos = [a for a in ALGOS if any(done[(row.name, a)] for row in ROWS)]
    lines = ["| scenario | agents | random policy | "
             + " | ".join(a.upper() for a in algos) + " |",
             "|---|---|---:|" + "---:|" * len(algos)]
    speed = ["| scenario | " + " | ".join(a.upper() for a in algos) + " |",
             "|---|" + "---:|" * len(algos)]
    missing, marked = [], []
    for row in ROWS:
        runs = {a: done[(row.name, a)] for a in algos}
        for a in algos:
            if len(runs[a]) < len(SEEDS):
                missing.append(f"{row.name} {a}: {len(runs[a])} of {len(SEEDS)} seeds")
            for seed in SEEDS:
                if sources[(row.name, a, seed)]:
                    copy_run(sources[(row.name, a, seed)],
                             os.path.join(DOCS_DIR, slug(row), a, f"seed{seed}"))
        present = [a for a in algos if runs[a]]
        if not present:
            continue
        names = agents(runs[present[0]][0])
        team = groups(names)
        rand = random_returns(row)
        draw_curves(os.path.join(DOCS_DIR, slug(row)), row, team,
                    {a.upper(): runs[a] for a in present}, rand)
        for k, (group, members) in enumerate(team.items()):
            cells = [_mean_std([final(run, members) for run in runs[a]])
                     + (f" ({len(runs[a])} of {len(SEEDS)} seeds)"
                        if 0 < len(runs[a]) < len(SEEDS) else "") for a in algos]
            plots = (f" ([steps]({slug(row)}/by_env_steps.png) "
                     f"[time]({slug(row)}/by_wall_s.png))") if k == 0 else ""
            lines.append(f"| {row.name if k == 0 else ''}{plots} | {group} ({len(members)}) | "
                         f"{np.mean([rand[n] for n in members]):.2f} | " + " | ".join(cells) + " |")
        if any((slug(row), a) in PUBLISHED for a in algos):
            at_2m = [_published(getattr(PUBLISHED.get((slug(row), a)), "at_2m", None))
                     for a in algos]
            full = [(f"{_published(PUBLISHED[(slug(row), a)].full)} "
                     f"({PUBLISHED[(slug(row), a)].budget})"
                     if getattr(PUBLISHED.get((slug(row), a)), "full", None) is not None
                     else "-") for a in algos]
            lines.append("|  | *published, 2M* |  | " + " | ".join(at_2m) + " |")
            lines.append("|  | *published, full budget* |  | " + " | ".join(full) + " |")
        rates = []
        for a in algos:
            seeds = [seed for seed in SEEDS if sources[(row.name, a, seed)]]
            values = {seed: run[-1]["env_steps"] / max(run[-1]["wall_s"], 1e-9)
                      for seed, run in zip(seeds, runs[a])}
            elsewhere = [seed for seed in seeds if made_elsewhere(sources[(row.name, a, seed)])]
            if elsewhere:
                marked.append(f"{row.name} {a.upper()} (seed{'s' if len(elsewhere) > 1 else ''} "
                              + ", ".join(map(str, elsewhere)) + ")")
            # The speed of the runs made the table's way where there are any.
            own = [v for seed, v in values.items() if seed not in elsewhere]
            shown = own or list(values.values())
            rates.append((f"{np.median(shown):,.0f}" + ("" if own else " †")) if shown else "-")
        speed.append(f"| {row.name} | " + " | ".join(rates) + " |")
    table = "\n".join(lines)
    table += ("\n\n*Published*: FAMILY.md's figures converted to mpe2's mean return per agent "
              "(the section \"The published figures beside ours\" gives each source and "
              "conversion); '-' where the source has none.")
    table += ("\n\nEnv steps per second of training, evaluations included (median over the "
              "seeds' runs, two or more runs side by side on 2 shared cores, one TensorFlow "
              "thread each, and, before `--threads` limited it, NumPy's BLAS with a spinning "
              "thread per core in every run: a slowdown of up to 6x for two runs, which "
              "these figures carry unevenly; see docs/benchmarks.md, \"BLAS threads\", and "
              "the README's benchmark for speeds that compare):\n\n" + "\n".join(speed))
    if marked:
        table += ("\n\nMade on another machine, or here with NumPy's BLAS on one thread "
                  "per run (each run's " + MADE_ON + ", copied beside its metrics, says how): "
                  + "; ".join(marked) + ". Their returns compare with the others (the same "
                  "command line); their speeds and wall-clock curves do not: a speed above "
                  "is of the seeds made the table's way where there are any, and marked † "
                  "where all were made elsewhere.")
    if missing:
        table += "\n\nNot run yet: " + "; ".join(missing) + "."
    absent = [a.upper() for a in ALGOS if a not in algos]
    if absent:
        table += ("\n\nNo finished run yet (no column): " + ", ".join(absent)
                  + f", on all {len(ROWS)} scenarios.")
    write_between(os.path.join(DOCS_DIR, "README.md"), MARKERS, table)
    print(table)
    for markers, text in ((LONG_MARKERS, long_report()), (BOX_MARKERS, box_report()),
                          (PHYSICS_MARKERS, physics_report()),
                          *((v.markers, variant_report(v)) for v in VARIANTS.values()),
                          (PROBE_MARKERS, probe_report())):
        write_between(os.path.join(DOCS_DIR, "README.md"), markers, text)
        print(text)


HARL_OFF_POLICY = {"gamma": 0.99, "actor_lr": 5e-4, "critic_lr": 1e-3,
                   "hidden_sizes": (128, 128), "tau": 0.005, "batch_size": 1000,
                   "buffer_size": 1_000_000, "minimal_size": 10_000}
"""HARL's tuned MADDPG settings for MPE (its MATD3's are the same plus TD3's own three,
which are ours), all but its update schedule: HARL makes 50 updates every 1,000 transitions
(``update_per_train`` x ``train_interval`` after every 50 steps of 20 threads), one per
20 transitions, 5 times our ``update_interval`` of 100 and 5 times the compute."""


@dataclasses.dataclass(frozen=True)
class Variant:
    """A named setting beside the table: one algorithm on one scenario, the table's
    seeds and command line with ``options`` on top, trained by ``run --variant NAME``
    into ``runs/family_variants/NAME`` and kept in ``docs/results/family/NAME``.

    Attributes:
      name: the variant's name (its folders and the page's markers).
      row: the scenario.
      algo: the algorithm.
      options: the settings on top of the algorithm's defaults (none: the defaults
        themselves over more seeds than the table's, trained into the table's folder).
      label: the settings as the page names them.
      seeds: the seeds it runs (and the defaults it is set beside: seeds past the
        table's are trained with ``run --algos ALGO --only SCENARIO --seeds ...``).
    """

    name: str
    row: Row
    algo: str
    options: dict
    label: str
    seeds: tuple = SEEDS

    @property
    def runs_root(self) -> str:
        """Its runs' folder; without options (the defaults over more seeds), the
        defaults' (``defaults``)."""
        if not self.options:
            return self.defaults().get("runs_root", RUNS_DIR)
        return os.path.join("runs", "family_variants", self.name)

    @property
    def docs_root(self) -> str:
        """Where its finished runs are kept; without options, the defaults' folder."""
        if not self.options:
            return self.defaults().get("docs_root", DOCS_DIR)
        return os.path.join(DOCS_DIR, self.name)

    @property
    def markers(self):
        """The page's two markers between which ``variant_report`` writes its table."""
        return (f"<!-- variant {self.name}: start -->", f"<!-- variant {self.name}: end -->")

    @property
    def box(self) -> bool:
        """Its row is one of BOX_ROWS: it is set beside the Box runs, not the table's."""
        return bool(self.row.env_args)

    def settings(self) -> dict:
        """``run_source``'s and ``expected_config``'s arguments for this variant's runs."""
        return dict(runs_root=self.runs_root, docs_root=self.docs_root, rows=[self.row],
                    options={self.algo: {**TABLE_OPTIONS.get(self.algo, {}), **self.options}})

    def defaults(self) -> dict:
        """The same for the runs of the defaults it is set beside: the table's, or for a
        Box row the Box runs (``run --box``)."""
        return dict(runs_root=BOX_DIR, docs_root=BOX_DOCS, rows=BOX_ROWS) if self.box else {}


VARIANTS = {v.name: v for v in [
    # QMIX with EPyMARL's gamma 0.99 and the state's LayerNorm (the divergence's cause
    # removed), against the table's 0.9.
    Variant("qmix-gamma0.99", ROWS[0], "qmix", {"gamma": 0.99, "state_layer_norm": True},
            "gamma 0.99, state LayerNorm"),
    # MADDPG with both learning rates 1e-3 on simple_speaker_listener (at the reference's
    # 1e-2 the speaker's first layer dies), against the table's defaults.
    Variant("maddpg-lr1e-3", ROWS[1], "maddpg", {"actor_lr": 1e-3, "critic_lr": 1e-3},
            "actor and critic lr 1e-3"),
    # The same for MATD3, which shares MADDPG's learning rates and their dead speakers.
    Variant("matd3-lr1e-3", ROWS[1], "matd3", {"actor_lr": 1e-3, "critic_lr": 1e-3},
            "actor and critic lr 1e-3"),
    # The same two with Box actions (HARL's), against the Box runs of the defaults: there
    # too the speaker learns first and is lost later at the reference's 1e-2.
    Variant("maddpg-box-lr1e-3", BOX_ROWS[1], "maddpg", {"actor_lr": 1e-3, "critic_lr": 1e-3},
            "actor and critic lr 1e-3"),
    Variant("matd3-box-lr1e-3", BOX_ROWS[1], "matd3", {"actor_lr": 1e-3, "critic_lr": 1e-3},
            "actor and critic lr 1e-3"),
    # HARL's tuned MPE settings, all but its update schedule (HARL_OFF_POLICY, from
    # tuned_configs/pettingzoo_mpe/simple_reference_v2-continuous/maddpg), on
    # simple_reference with Box actions, where the defaults trail HARL's figures most.
    Variant("maddpg-box-harl", BOX_ROWS[2], "maddpg", HARL_OFF_POLICY,
            "HARL's MPE settings (not its update schedule)"),
    # HAPPO on simple_spread with HARL's 5 epochs (each later agent's factor, the product
    # of the earlier agents' ratios, moves less), against the table's 10: one seed in
    # three of the defaults ends with two agents on one landmark (examples/spread_coverage.py).
    # Seed 0 alone: it ended on a shared landmark itself, so the other seeds were not run.
    Variant("happo-epochs5", ROWS[0], "happo", {"epochs": 5}, "5 epochs", seeds=(0,)),
    # The same question answered by more exploration: twice the entropy bonus; ten seeds,
    # beside the defaults' ten (its table seeds end at -12.14, above -13).
    Variant("happo-entropy0.02", ROWS[0], "happo", {"entropy_coef": 0.02},
            "entropy coefficient 0.02", seeds=tuple(range(10))),
    # Twice the updates per env step (64 environments a rollout, not 128): seed 1 alone,
    # the stuck seed; it stayed stuck, so the other seeds were not run.
    Variant("happo-envs64", ROWS[0], "happo", {"num_envs": 64}, "64 environments",
            seeds=(1,)),
    # HARL's network size: hidden layers of 128 (the defaults': 64, the MAPPO
    # repository's), the rest of the defaults kept. It freed seed 1, but seed 0 stuck
    # in its place, so seeds 3 and 4 were not run.
    Variant("happo-hidden128", ROWS[0], "happo", {"hidden_sizes": (128, 128)},
            "hidden layers 128 x 128"),
    # No setting above lowers how often a seed sticks: the defaults over ten seeds, for
    # the expected return at 2M and how many seeds stick.
    Variant("happo-ten-seeds", ROWS[0], "happo", {}, "its defaults", seeds=tuple(range(10))),
    # On mpe2 the defaults' 10 epochs at lr 7e-4 beat HARL's 5 at 5e-4 (and 5 epochs
    # alone sank seed 0): more learning per rollout, by a larger step.
    Variant("happo-lr1e-3", ROWS[0], "happo", {"actor_lr": 1e-3, "critic_lr": 1e-3},
            "actor and critic lr 1e-3"),
    # The same by more epochs over each rollout (15, the defaults' 10).
    Variant("happo-epochs15", ROWS[0], "happo", {"epochs": 15}, "15 epochs"),
]}
"""The named settings that the page sets beside the table's row of their algorithm."""


def variant_report(variant: Variant) -> str:
    """The variant against the table's runs of its algorithm and scenario, each seed:
    the largest critic (TD) loss of the run and the final return, then the mean ± std
    over the seeds; copies the variant's finished runs to its docs folder."""
    from tf_maddpg.runs.metrics import read_metrics

    row, algo = variant.row, variant.algo
    where = row.name + (", Box actions" if variant.box else "")
    lines = [f"| {algo.upper()} on {where} | seed | largest critic loss over the run | "
             "final return per agent |", "|---|---:|---:|---:|"]
    blocks = [("its defaults (`run --box`)" if variant.box else "the table's (its defaults)",
               variant.defaults(), "its defaults", True)]
    if variant.options:
        blocks.append((variant.label, variant.settings(), variant.label, False))
    for name, extra, summary, defaults in blocks:
        finals = []
        for seed in variant.seeds:
            source = run_source(row, algo, seed, **extra)
            beyond = defaults and seed not in SEEDS and not variant.box
            label = "its defaults (beyond the table's seeds)" if beyond else name
            if not source:
                lines.append(f"| {label} | {seed} | - | not run yet |")
                continue
            if extra or beyond:  # the table's own seeds are copied by report()
                copy_run(source, os.path.join(extra.get("docs_root", DOCS_DIR), slug(row),
                                              algo, f"seed{seed}"))
            run = read_metrics(os.path.join(source, "metrics.csv"))
            members = agents(run)
            loss = max(r[k] for r in run for k in r if k.startswith("loss/critic/"))
            finals.append(final(run, members))
            lines.append(f"| {label} | {seed} | {loss:.3g} | {finals[-1]:.2f} |")
        if len(finals) > 1:
            lines.append(f"| {summary}: mean ± std over the {len(finals)} seeds | | | "
                         f"{_mean_std(finals)} |")
    return "\n".join(lines)


def physics_dir(run: PhysicsRun) -> str:
    """The experiment run's folder: ``runs/physics/SCENARIO/ALGO[-PRESET]-PHYSICS/seedS``;
    the defaults on mpe2 are the long run of the seed."""
    if run.preset is None and run.physics == "mpe2":
        return long_dir(run.row, run.algo, run.seed)
    name = "-".join([run.algo] + ([run.preset] if run.preset else []) + [run.physics])
    return os.path.join(PHYSICS_DIR, slug(run.row), name, f"seed{run.seed}")


def physics_command(run: PhysicsRun) -> List[str]:
    """The experiment run's command line: the table's, to the run's episodes, with the
    preset; the original order through examples/legacy_physics.py."""
    argv = command(run.row, run.algo, run.seed)[2:]
    argv[argv.index("--episodes") + 1] = str(run.episodes)
    argv[argv.index("--out") + 1] = physics_dir(run)
    argv += ["--preset", run.preset] if run.preset else []
    if run.physics == "original":
        return ["python", "examples/legacy_physics.py", *argv]
    return ["tf-maddpg", "train", *argv]


def physics_report() -> str:
    """The experiment's table: each scenario's runs (``physics_run_line``), then HARL's
    curves for them (``published_curve_lines``). The defaults' runs on mpe2 are the long
    runs of their seeds, or the table's 2M runs where those are not made yet."""
    steps = " | ".join(f"{n / 1e6:g}M" for n in PHYSICS_STEPS)
    lines = [f"| scenario | run | seed | integration order | {steps} | last evaluation |",
             "|---|---|---:|---|" + "---:|" * (len(PHYSICS_STEPS) + 1)]
    for row in dict.fromkeys(run.row for run in PHYSICS_RUNS):
        lines += [physics_run_line(run) for run in PHYSICS_RUNS if run.row == row]
        lines += published_curve_lines(row)
    return "\n".join(lines)


def physics_run_line(run: PhysicsRun) -> str:
    """One run's line: its final return (the mean of the LAST evaluations up to each of
    PHYSICS_STEPS, per agent) and its last evaluation's; copies the run to the docs."""
    from tf_maddpg.runs.metrics import read_metrics

    row, algo, preset, physics = run.row, run.algo, run.preset, run.physics
    folder = physics_dir(run)
    kept = (os.path.join(LONG_DOCS, os.path.relpath(folder, LONG_DIR))
            if folder.startswith(LONG_DIR) else
            os.path.join(PHYSICS_DOCS, os.path.relpath(folder, PHYSICS_DIR)))
    source = folder if os.path.exists(os.path.join(folder, "metrics.csv")) else kept
    if not os.path.exists(os.path.join(source, "metrics.csv")) and folder.startswith(LONG_DIR):
        source = run_source(row, algo, run.seed) or source  # the table's 2M run
        kept = source
    name = f"{algo.upper()}, " + (f"HARL's settings (--preset {preset})" if preset
                                 else "our defaults")
    order = "mpe2's" if physics == "mpe2" else "the original MPE's"
    if not os.path.exists(os.path.join(source, "metrics.csv")):
        return (f"| {row.name} | {name} | {run.seed} | {order} | "
                + " | ".join("-" for _ in PHYSICS_STEPS) + " | - |")
    copy_run(source, kept)
    metrics = read_metrics(os.path.join(source, "metrics.csv"))
    members = agents(metrics)
    cells = [f"{final(metrics, members, n):.2f}" if metrics[-1]["env_steps"] >= n else "-"
             for n in PHYSICS_STEPS]
    last = (f"{mean_return(metrics[-1], members):.2f} at "
            f"{metrics[-1]['env_steps'] / 1e6:.2f}M")
    return (f"| {row.name} | {name} | {run.seed} | {order} | " + " | ".join(cells)
            + f" | {last} |")


def published_curve_lines(row: Row) -> List[str]:
    """HARL's curves of the algorithms the experiment trains on ``row``: converted to
    mpe2 (mpe2's order), and with the order's cost left out (the original order, as HARL
    ran them)."""
    lines = []
    for algo in dict.fromkeys(run.algo for run in PHYSICS_RUNS if run.row == row):
        published = PUBLISHED[(slug(row), algo)]
        for order, cost in (("mpe2's (converted)", 0.0),
                            ("the original MPE's (as HARL ran)", ORDER_COST[slug(row)])):
            cells = [f"{published.at_2m + cost:.1f}" if n == 2_000_000 else
                     f"{published.full + cost:.1f}" if f"{n / 1e6:g}M" == published.budget
                     else "-" for n in PHYSICS_STEPS]
            lines.append(f"| {row.name} | {algo.upper()}, HARL's published curve | | {order} | "
                         + " | ".join(cells) + " | - |")
    return lines


def kept_runs(row: Row, algo: str, runs_root: str, docs_root: str, **settings) -> List[list]:
    """The metrics of the seeds' runs that exist (``run_source`` with these settings),
    each copied to ``docs_root``."""
    from tf_maddpg.runs.metrics import read_metrics

    runs = []
    for seed in SEEDS:
        source = run_source(row, algo, seed, runs_root, docs_root, **settings)
        if source:
            copy_run(source, os.path.join(docs_root, slug(row), algo, f"seed{seed}"))
            runs.append(read_metrics(os.path.join(source, "metrics.csv")))
    return runs


def box_report() -> str:
    """MADDPG and MATD3 with Box actions beside the table's Discrete runs and HARL's
    (Box) curves: the final return at 2M, mean ± std over the seeds; copies the Box runs
    to BOX_DOCS and draws their curves there."""
    lines = ["| scenario | algorithm | seeds | ours, Box actions | ours, Discrete (the table) | "
             "HARL at 2M (Box) | HARL at its budget (Box) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for row, table_row in zip(BOX_ROWS, ROWS):
        curves = {}
        for algo in BOX_ALGOS:
            runs = kept_runs(row, algo, BOX_DIR, BOX_DOCS, rows=BOX_ROWS)
            discrete = kept_runs(table_row, algo, RUNS_DIR, DOCS_DIR)
            published = PUBLISHED[(slug(row), algo)]
            full = (f"{_published(published.full)} ({published.budget})"
                    if published.full is not None else "-")
            cells = [(_mean_std([final(run, agents(run)) for run in group])
                      + (" (unfinished)" if min(run[-1]["env_steps"] for run in group)
                         < EPISODES * 25 else "")) if group else "-"
                     for group in (runs, discrete)]
            if runs:
                curves[f"{algo.upper()}, Box"] = runs
            if discrete:
                curves[f"{algo.upper()}, Discrete"] = discrete
            lines.append(f"| {row.name} | {algo.upper()} | {len(runs)} | {cells[0]} | "
                         f"{cells[1]} | {_published(published.at_2m)} | {full} |")
        draw_row_curves(os.path.join(BOX_DOCS, slug(row)), row, curves)
    return "\n".join(lines)


def long_report() -> str:
    """The 10M runs beside HARL's figures: each (scenario, algorithm) at 2M and at 10M
    (the final return up to each, mean ± std over the seeds); copies the runs to
    LONG_DOCS and draws their curves there."""
    lines = ["| scenario | algorithm | seeds | ours at 2M | HARL at 2M | ours at 10M | HARL at 10M |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for row in LONG_ROWS:
        curves = {}
        for a in LONG_OPTIONS:
            runs = kept_runs(row, a, LONG_DIR, LONG_DOCS, rows=LONG_ROWS,
                             episodes=LONG_EPISODES, options=LONG_OPTIONS)
            published = PUBLISHED[(slug(row), a)]
            name = a.upper() + (f" ({LONG_OPTIONS[a]['preset']})" if LONG_OPTIONS[a] else "")
            if not runs:
                lines.append(f"| {row.name} | {name} | 0 | - | {_published(published.at_2m)} "
                             f"| - | {_published(published.full)} |")
                continue
            members = agents(runs[0])
            curves[name] = runs
            ends = [run[-1]["env_steps"] for run in runs]
            at_end = _mean_std([final(run, members) for run in runs])
            if min(ends) < LONG_EPISODES * 25:
                at_end += f" (at {min(ends) / 1e6:.1f}M)"
            lines.append(f"| {row.name} | {name} | {len(runs)} | "
                         f"{_mean_std([final(run, members, 2_000_000) for run in runs])} | "
                         f"{_published(published.at_2m)} | {at_end} | "
                         f"{_published(published.full)} |")
        draw_row_curves(os.path.join(LONG_DOCS, slug(row)), row, curves)
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train the runs that are missing")
    run.add_argument("--jobs", type=int, default=2)
    run.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    run.add_argument("--seeds", nargs="+", type=int, default=None,
                     help=f"default: {' '.join(map(str, SEEDS))} (a variant's: its own seeds)")
    run.add_argument("--only", nargs="+", help="scenario folder names")
    run.add_argument("--engine", choices=("ray", "local"), default=None,
                     help="the sweep's engine (default: ray where Ray Tune is installed)")
    which = run.add_mutually_exclusive_group()
    which.add_argument("--probe", action="store_true",
                     help="the discount probe (IQL and VDN, gamma 0.9) instead of the table")
    which.add_argument("--variant", choices=sorted(VARIANTS),
                     help="a named setting beside the table instead of the table (VARIANTS "
                          "in this file says what each is and why)")
    which.add_argument("--long", action="store_true",
                     help="HARL's budget: MAPPO and HAPPO with their defaults to 10M env steps "
                          "on the cooperative scenarios instead of the table")
    which.add_argument("--box", action="store_true",
                     help="MADDPG and MATD3 with Box (continuous) actions on the cooperative "
                          "scenarios instead of the table (HARL's curves are of Box actions)")
    sub.add_parser("report", help="write docs/results/family/README.md and the plots")
    args = parser.parse_args(argv)
    if args.command == "run":
        seeds = args.seeds or list(VARIANTS[args.variant].seeds if args.variant else SEEDS)
        run_all(args.jobs, args.algos, seeds, args.only, args.engine, args.probe,
                args.long, args.variant, args.box)
    else:
        report()
    return 0


if __name__ == "__main__":
    sys.exit(main())

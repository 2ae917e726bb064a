"""A sweep's results: the table (each agent group's final return, mean ± std over the
seeds, beside a uniformly random policy), the list of trials, and the return curves
of each scenario and configuration; and the pieces that the results scripts
(examples/scenario_results.py, examples/family_results.py) share with it.

    DIR/report.md                            the tables
    DIR/<scenario>/<configuration>.png       per agent: mean and min-max band over seeds

A configuration is an algorithm entry with the values of the options the
sweep varies: the middle part of a run folder's path.
"""

from __future__ import annotations

import json
import os
from typing import Dict, Optional, Sequence

import numpy as np

from tf_maddpg.algorithms.teams import groups

LAST = 5
"""A run's final return: the mean of its last this-many evaluations (docs/results')."""
REPORT_FILE = "report.md"
RANDOM_FILE = "random.json"
"""DIR/<scenario>/random.json: per agent, the return of uniformly random actions."""


# --- Shared with the results scripts -------------------------------------------------------

def mean_std(values) -> str:
    """``-14.46 ± 0.33``; ``-`` for no values."""
    return f"{np.mean(values):.2f} ± {np.std(values):.2f}" if len(values) else "-"


def final_return(rows: Sequence[Dict[str, float]], members: Sequence[str],
                 last: int = LAST) -> float:
    """A run's final return of a group: the group's mean return per agent over the run's
    last ``last`` evaluations."""
    return float(np.mean([np.mean([r[f"return/{n}"] for n in members]) for r in rows[-last:]]))


def read_random_returns(root: str, name: str) -> Optional[Dict[str, float]]:
    """Per agent, the random policy's return on scenario ``name`` of the sweep in
    ``root`` (``RANDOM_FILE``), or None where the sweep has not measured it."""
    try:
        with open(os.path.join(root, name, RANDOM_FILE), encoding="utf-8") as f:
            return {k: float(v) for k, v in json.load(f)["returns"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


# --- The sweep's report ---------------------------------------------------------------------

def write_report(root: str, last: int = LAST) -> str:
    """Writes DIR/report.md and the curves of a sweep folder; returns the report's text.

    Reads DIR/sweep.yaml (the trials), DIR/sweep.json (their status and
    errors; without it, the status is read from the run folders), each run's
    metrics.csv and each scenario's random-policy return (DIR/<scenario>/
    random.json, which the sweep writes when its trials are done); it runs
    nothing. A table cell is the mean ± std over the seeds whose run
    finished (how many, when not all); the curves draw every run that
    evaluated at least once.

    Raises:
      FileNotFoundError: DIR holds no sweep.yaml.
    """
    from tf_maddpg.runs.metrics import MetricsError, read_metrics
    from tf_maddpg.runs.plots import plot_returns, plot_returns_over_seeds
    from tf_maddpg.sweep.spec import read_spec
    from tf_maddpg.sweep.trial import DONE, SPEC_FILE, read_records, record_of

    spec = read_spec(os.path.join(root, SPEC_FILE))
    recorded = {r.folder: r for r in read_records(root)}
    if spec.sampled:  # Ray Tune drew the trials: sweep.json lists them
        records = list(recorded.values())
    else:
        records = []
        for trial in spec.grid():
            record = recorded.get(spec.folder(trial))
            fresh = record_of(spec, root, trial, record.error if record else "")
            if record is not None and record.status != DONE and fresh.status != DONE:
                fresh.status = record.status  # stopped early, as the sweep saw it
            records.append(fresh)
    runs: Dict[str, list] = {}
    for record in records:
        try:
            runs[record.folder] = read_metrics(os.path.join(root, record.folder, "metrics.csv"))
        except (OSError, MetricsError):
            runs[record.folder] = []

    counts = {s: sum(r.status == s for r in records) for s in dict.fromkeys(
        r.status for r in records)}
    lines = [f"# Sweep: {os.path.basename(os.path.abspath(root))}", "",
             f"{len(records)} trials (" + ", ".join(f"{n} {s}" for s, n in counts.items())
             + f") of {SPEC_FILE}. A run's *final return* of an agent group is the group's "
             f"mean return per agent over the run's last {last} evaluations; a cell is its "
             "mean ± std over the seeds whose run finished. *Random policy*: uniformly "
             "random actions on seed 0's evaluation episodes, measured by the sweep when "
             f"its trials are done (<scenario>/{RANDOM_FILE}). "
             "Each scenario links its curves: per agent, the mean and min-max band over "
             "the seeds.", ""]
    scenario_names = [s.name for s in spec.scenarios]
    configs = list(dict.fromkeys(_configuration(r.folder) for r in records))
    table = ["| scenario | agents | random policy | " + " | ".join(configs) + " |",
             "|---|---|---:|" + "---:|" * len(configs)]
    unmeasured = False
    for name in scenario_names:
        mine = [r for r in records if r.scenario == name]
        evaluated = [r for r in mine if runs[r.folder]]
        if not evaluated:
            continue
        first = runs[evaluated[0].folder][0]
        agents = [k[len("return/"):] for k in first if k.startswith("return/")]
        plots = []
        for config in configs:
            drawn = [runs[r.folder] for r in evaluated if _configuration(r.folder) == config]
            if not drawn:
                continue
            path = os.path.join(root, name, f"{config}.png")
            title = f"{config} on {name}"
            if len(drawn) == 1:
                plot_returns(drawn[0], path, title=title)
            else:
                plot_returns_over_seeds(drawn, path, title=f"{title}: {len(drawn)} seeds")
            plots.append(f"[{config}]({name}/{config}.png)")
        rand = read_random_returns(root, name)
        unmeasured |= rand is None
        for k, (group, members) in enumerate(groups(agents).items()):
            cells = []
            for config in configs:
                of_config = [r for r in mine if _configuration(r.folder) == config]
                done = [runs[r.folder] for r in of_config if r.status == DONE and runs[r.folder]]
                text = mean_std([final_return(rows, members, last) for rows in done])
                if done and len(done) < len(of_config):
                    text += f" ({len(done)} of {len(of_config)} seeds)"
                cells.append(text if of_config else "")
            lead = f"{name} ({' '.join(plots)})" if k == 0 else ""
            random_cell = "-" if rand is None else f"{np.mean([rand[n] for n in members]):.2f}"
            table.append(f"| {lead} | {group} ({len(members)}) | {random_cell} | "
                         + " | ".join(cells) + " |")
    lines += table
    if unmeasured:
        lines += ["", "The random policy's return (-) is measured when the sweep's trials "
                  "are done: `tf-maddpg sweep --resume DIR` measures it."]
    lines += ["", "## Trials", "",
              "| run folder | status | last evaluation (episode) | mean return | "
              + "".join(f"{k} | " for k in spec.varying) + "error |",
              "|---|---|---:|---:|" + "---:|" * len(spec.varying) + "---|"]
    for r in records:
        mean = "" if r.mean_return is None else f"{r.mean_return:.2f}"
        values = "".join(f"{_show(r.options.get(k))} | " for k in spec.varying)
        lines.append(f"| {r.folder} | {r.status} | {r.episode or ''} | {mean} | {values}"
                     f"{r.error.replace('|', '/')} |")
    text = "\n".join(lines) + "\n"
    from tf_maddpg.runs.atomic import replacing

    with replacing(os.path.join(root, REPORT_FILE)) as temporary, open(temporary, "w") as f:
        f.write(text)
    return text


def _configuration(folder: str) -> str:
    """``simple_spread_v3/maddpg-batch_size32/seed0`` -> ``maddpg-batch_size32``."""
    return folder.split("/")[-2]


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return "" if value is None else str(value)

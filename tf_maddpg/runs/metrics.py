"""The metrics log: one CSV row per evaluation, flushed as it is written."""

from __future__ import annotations

import csv
import os
from typing import Dict, List, Sequence


def metric_columns(agent_names: Sequence[str]) -> List[str]:
    """The CSV columns: episode, env_steps, wall_s, return/<agent> per agent, then
    the mean losses since the previous evaluation, loss/critic/<agent> and
    loss/actor/<agent> (nan before the first update)."""
    return (["episode", "env_steps", "wall_s"] + [f"return/{a}" for a in agent_names]
            + [f"loss/{kind}/{a}" for kind in ("critic", "actor") for a in agent_names])


class MetricsCSV:
    """Appends rows to a CSV file, flushing each one so a stopped run loses nothing.

    Args:
      path: the CSV file (created, or truncated).
      columns: the header.
    """

    def __init__(self, path: str | os.PathLike, columns: Sequence[str]):
        self.path = os.fspath(path)
        self.columns = list(columns)
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        with open(self.path, "w", newline="") as f:
            csv.writer(f).writerow(self.columns)

    def write(self, row: Dict[str, float]) -> None:
        """Appends one row (keys must be the columns)."""
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, self.columns).writerow(row)


def read_metrics(path: str | os.PathLike) -> List[Dict[str, float]]:
    """Reads a metrics CSV into a list of rows: int counters, float values."""
    with open(path, newline="") as f:
        return [{k: int(float(v)) if k in _COUNTERS else float(v) for k, v in row.items()}
                for row in csv.DictReader(f)]


_COUNTERS = ("episode", "env_steps")

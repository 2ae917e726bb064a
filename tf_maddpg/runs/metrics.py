"""The metrics log: one CSV row per evaluation; the file is never left half-written."""

from __future__ import annotations

import csv
import math
import os
from typing import Dict, List, Sequence


def metric_columns(agent_names: Sequence[str]) -> List[str]:
    """The CSV columns: episode, env_steps, wall_s, return/<agent> per agent, then
    the mean losses since the previous evaluation, loss/critic/<agent> and
    loss/actor/<agent> (nan before the first update)."""
    return (["episode", "env_steps", "wall_s"] + [f"return/{a}" for a in agent_names]
            + [f"loss/{kind}/{a}" for kind in ("critic", "actor") for a in agent_names])


class MetricsCSV:
    """The metrics file of a run: rewritten whole at every row, under a temporary name
    renamed into place, so that a run killed mid-write leaves the previous file.

    Args:
      path: the CSV file (created, or replaced).
      columns: the header.
      rows: rows to start with (a resumed run's history).
    """

    def __init__(self, path: str | os.PathLike, columns: Sequence[str],
                 rows: Sequence[Dict[str, float]] = ()):
        self.path = os.fspath(path)
        self.columns = list(columns)
        self.rows: List[Dict[str, float]] = []
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        for row in rows:
            self.rows.append({k: row.get(k, math.nan) for k in self.columns})
        self._write()

    def write(self, row: Dict[str, float]) -> None:
        """Appends one row (keys must be the columns)."""
        self.rows.append(dict(row))
        self._write()

    def _write(self) -> None:
        from tf_maddpg.runs.atomic import replacing

        with replacing(self.path) as temporary:
            with open(temporary, "w", newline="") as f:
                writer = csv.DictWriter(f, self.columns)
                writer.writeheader()
                writer.writerows(self.rows)


class MetricsError(ValueError):
    """A metrics CSV cannot be read: not a CSV, no header, or a row that is cut short or
    holds something other than numbers. The message names the file and the line."""


def read_metrics(path: str | os.PathLike) -> List[Dict[str, float]]:
    """Reads a metrics CSV into a list of rows: int counters, float values.

    Raises:
      FileNotFoundError: the file does not exist.
      MetricsError: the file is not a metrics CSV (binary, no ``episode``
        column), or a row has a different number of fields than the header or
        a value that is not a number (a file cut short by a crash); the
        message names the file and the line.
    """
    path = os.fspath(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            lines = list(csv.reader(f))
    except UnicodeDecodeError:
        raise MetricsError(f"{path} is not a metrics CSV: it is not text") from None
    except csv.Error as error:
        raise MetricsError(f"{path} is not a metrics CSV ({error})") from None
    if not lines:
        raise MetricsError(f"{path} is empty: the run wrote no header (did it start?)")
    header = lines[0]
    if "episode" not in header or any(not name for name in header):
        raise MetricsError(f"{path} is not a metrics CSV: its first line "
                           f"{','.join(header)[:80]!r} is not a header with an episode column")
    rows = []
    for number, values in enumerate(lines[1:], start=2):
        if not values:
            continue
        if len(values) != len(header):
            cut = " (the file is cut short)" if number == len(lines) else ""
            raise MetricsError(f"{path} line {number} has {len(values)} of {len(header)} "
                               f"fields{cut}; delete that line to use the rest")
        try:
            rows.append({k: int(float(v)) if k in _COUNTERS else float(v)
                         for k, v in zip(header, values)})
        except ValueError:
            bad = next(f"{k}={v!r}" for k, v in zip(header, values) if not _is_number(v))
            raise MetricsError(f"{path} line {number}: {bad} is not a number") from None
    return rows


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_COUNTERS = ("episode", "env_steps")

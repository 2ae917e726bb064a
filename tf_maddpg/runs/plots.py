"""Reward plots: per-agent evaluation return against training episode."""

from __future__ import annotations

import itertools
import os
from typing import Dict, Sequence

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402

Rows = Sequence[Dict[str, float]]
# Agents that share a reward draw identical curves: vary the dash so both show.
_STYLES = ("-", "--", ":", "-.")


def plot_returns(rows: Rows, path: str | os.PathLike, title: str | None = None) -> None:
    """Draws one line per agent (every ``return/<agent>`` column) and saves a PNG.

    Args:
      rows: evaluation rows, each with ``episode`` and ``return/<agent>`` keys.
      path: where to write the image.
      title: the figure title.
    """
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if rows:
        episodes = [r["episode"] for r in rows]
        for key, style in zip(_return_keys(rows), itertools.cycle(_STYLES)):
            ax.plot(episodes, [r[key] for r in rows], style, label=key[len("return/"):])
    _finish(fig, ax, path, title)


def plot_returns_over_seeds(runs: Sequence[Rows], path: str | os.PathLike,
                            title: str | None = None) -> None:
    """Per-agent mean return over several runs (seeds), with a min-max band.

    Args:
      runs: one list of evaluation rows per run; the curves cover the
        episodes that every run reached.
      path: where to write the image.
      title: the figure title.
    """
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for key, style in zip(_return_keys(runs[0]), itertools.cycle(_STYLES)):
        draw_mean_and_band(ax, runs, key, label=f"{key[len('return/'):]} (mean of {len(runs)})",
                           style=style)
    _finish(fig, ax, path, title)


def draw_mean_and_band(ax, runs: Sequence[Rows], key: str, label: str, style: str = "-",
                       color=None) -> None:
    """One curve of ``key`` against the episode: its mean over ``runs`` and a min-max band.

    The curve covers the evaluations that every run reached.
    """
    length = min(len(rows) for rows in runs)
    episodes = [r["episode"] for r in runs[0][:length]]
    values = np.array([[r[key] for r in rows[:length]] for rows in runs])  # [runs, evals]
    line, = ax.plot(episodes, values.mean(axis=0), style, color=color, label=label)
    ax.fill_between(episodes, values.min(axis=0), values.max(axis=0), color=line.get_color(),
                    alpha=0.2, linewidth=0)


def _return_keys(rows: Rows):
    """The ``return/<agent>`` keys of a row, in column order."""
    return [k for k in rows[0] if k.startswith("return/")]


def _finish(fig, ax, path, title):
    if ax.lines:
        ax.legend(loc="best")
    ax.set_xlabel("training episode")
    ax.set_ylabel("mean evaluation return (greedy)")
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)

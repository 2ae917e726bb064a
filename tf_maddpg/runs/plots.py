"""Reward plots: per-agent evaluation return against training episode."""

from __future__ import annotations

import itertools
import os
import textwrap
from typing import Dict, List, Sequence

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402

Rows = Sequence[Dict[str, float]]
# Agents that share a reward draw identical curves: they are drawn as one line
# labelled with every name; distinct curves vary the dash as well as the colour.
_STYLES = ("-", "--", ":", "-.")


def plot_returns(rows: Rows, path: str | os.PathLike, title: str | None = None) -> None:
    """Draws one line per agent (every ``return/<agent>`` column) and saves a PNG.

    Agents whose curves are identical (agents that share a reward) are drawn
    as one line labelled with all their names, e.g. ``agent_0 = agent_1``, so
    that no curve hides another.

    Args:
      rows: evaluation rows, each with ``episode`` and ``return/<agent>`` keys.
      path: where to write the image.
      title: the figure title (e.g. the scenario, the algorithm and the seed).
    """
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if rows:
        episodes = [r["episode"] for r in rows]
        for keys, style in zip(same_curves([rows], _return_keys(rows)),
                               itertools.cycle(_STYLES)):
            ax.plot(episodes, [r[keys[0]] for r in rows], style, label=_names(keys),
                    marker="o" if len(rows) == 1 else None)
    _finish(fig, ax, path, title)


def plot_returns_over_seeds(runs: Sequence[Rows], path: str | os.PathLike,
                            title: str | None = None) -> None:
    """Per-agent mean return over several runs (seeds), with a min-max band.

    The legend says what the line and the band are (mean of N runs; band:
    min-max). Agents whose curves are identical in every run are drawn once,
    labelled with all their names.

    Args:
      runs: one list of evaluation rows per run; the curves cover the
        evaluations that every run reached (see ``common_length``).
      path: where to write the image.
      title: the figure title.
    """
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for keys, style in zip(same_curves(runs, _return_keys(runs[0])), itertools.cycle(_STYLES)):
        draw_mean_and_band(ax, runs, keys[0],
                           label=f"{_names(keys)}: mean of {len(runs)} runs", style=style)
    if ax.lines:
        ax.fill_between([], [], [], color="grey", alpha=0.2, linewidth=0,
                        label=f"band: min to max over the {len(runs)} runs")
    _finish(fig, ax, path, title)


def plot_groups(groups: Dict[str, Sequence[Rows]], path: str | os.PathLike,
                title: str | None = None, colors: Dict[str, str] | None = None,
                ylabel: str = "mean evaluation return (greedy)") -> None:
    """Groups of runs side by side (algorithms, the two sides of ``compare``): one panel
    per agent, each group its own colour, its mean over its runs with a min-max band.

    Args:
      groups: label -> the runs (lists of evaluation rows) of that group; every run
        has the same ``return/<agent>`` columns.
      path: where to write the image.
      title: the figure title.
      colors: label -> a matplotlib colour (default: the colour cycle).
    """
    first = next(iter(groups.values()))
    keys = _return_keys(first[0])
    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 3.8), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for label, runs in groups.items():
            count = f"{len(runs)} run{'s' if len(runs) > 1 else ''}"
            draw_mean_and_band(ax, runs, key, color=(colors or {}).get(label),
                               label=f"{label} ({count})")
        ax.set_title(key[len("return/"):])
        ax.set_xlabel("training episode")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    axes[0][0].legend(fontsize=8)
    if title:
        fig.suptitle(textwrap.fill(title, 40 * len(keys)))
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def common_length(runs: Sequence[Rows]) -> int:
    """The number of evaluations that every run reached (where several-run curves stop)."""
    return min(len(rows) for rows in runs)


def same_curves(runs: Sequence[Rows], keys: Sequence[str]) -> List[List[str]]:
    """``keys`` grouped by identical curves: keys whose values are equal in every row of
    every run share a group (in first-seen order)."""
    length = common_length(runs)
    groups: List[List[str]] = []
    signatures: List[tuple] = []
    for key in keys:
        signature = tuple(tuple(r[key] for r in rows[:length]) for rows in runs)
        for group, seen in zip(groups, signatures):
            if seen == signature:
                group.append(key)
                break
        else:
            groups.append([key])
            signatures.append(signature)
    return groups


def _names(keys: Sequence[str]) -> str:
    names = [k[len("return/"):] for k in keys]
    return names[0] if len(names) == 1 else " = ".join(names) + " (the same return)"


def draw_mean_and_band(ax, runs: Sequence[Rows], key: str, label: str, style: str = "-",
                       color=None, x: str = "episode") -> None:
    """One curve of ``key`` against ``x`` (a metrics column: the episode, env steps or
    wall_s, averaged over the runs): its mean over ``runs`` and a min-max band.

    The curve covers the evaluations that every run reached.
    """
    length = common_length(runs)
    episodes = np.mean([[r[x] for r in rows[:length]] for rows in runs], axis=0)
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
        ax.set_title(textwrap.fill(title, 75))  # a long title wraps instead of being cut
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)

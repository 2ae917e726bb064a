"""Shared helpers for the benchmark scripts: timing, summaries, Markdown output, provenance.

Each script runs as ``python benchmarks/NAME.py ...`` from the repository root
and imports this module from its own folder; importing it also puts the
repository root on ``sys.path`` so ``tf_maddpg`` imports without installing.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import re
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


def time_repeats(fn: Callable[[], object], repeats: int, warmup: int = 0) -> list[float]:
    """Seconds per call of ``fn()`` for ``repeats`` calls, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def summary(values: Sequence[float]) -> tuple[float, float, float]:
    """(median, min, max) of ``values``."""
    return statistics.median(values), min(values), max(values)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table of already formatted cells; columns of numbers are right-aligned."""
    def numeric(cell: str) -> bool:  # 1,234.5  -3.2  12.5%  1.2-3.4 (a range)
        return re.fullmatch(r"-?[\d,]*\.?\d+%?(-[\d,]*\.?\d+%?)?", cell) is not None

    columns = list(zip(headers, *rows))
    right = [all(numeric(c) for c in col[1:]) and len(col) > 1 for col in columns]
    widths = [max(len(c) for c in col) for col in columns]

    def line(cells):
        return "| " + " | ".join(c.rjust(w) if r else c.ljust(w)
                                 for c, w, r in zip(cells, widths, right)) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" if r else "-" * (w + 2)
                          for w, r in zip(widths, right)) + "|"
    return "\n".join([line(headers), rule] + [line(row) for row in rows])


def command_line() -> str:
    """The command that ran this script, shell-quoted: ``python benchmarks/x.py args...``."""
    script = os.path.relpath(os.path.abspath(sys.argv[0]), REPO_ROOT)
    return shlex.join(["python", script] + sys.argv[1:])


def machine_line() -> str:
    """One line naming the CPU, its core count, the Python, TF and torch versions and the date."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    parts = [cpu, f"{os.cpu_count()} cores", f"Python {platform.python_version()}"]
    for name, package in (("TensorFlow", "tensorflow"), ("PyTorch", "torch")):
        try:
            parts.append(f"{name} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    parts.append(datetime.date.today().isoformat())
    return ", ".join(parts)


def pin_threads(n: int) -> None:
    """Runs TF (intra- and inter-op) and torch, if installed, on ``n`` threads.

    Call before TF runs its first op: TF fixes its thread pools then. Small
    torch matmuls can be far slower on several threads than on one, so
    benchmarks of the PyTorch reference should set ``torch.set_num_threads(1)``
    whatever ``n`` the TF side uses.
    """
    import tensorflow as tf

    from tf_maddpg.runtime import set_tensorflow_threads

    if not set_tensorflow_threads(tf, n):
        raise RuntimeError(f"pin_threads({n}): TensorFlow has already run an op with other "
                           "thread pools; call pin_threads first")
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(n)

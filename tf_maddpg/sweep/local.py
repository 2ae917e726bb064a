"""The sweep without Ray: the grid's trials on this machine, each in a fresh process
(as a Ray worker would be), ``jobs`` at a time. No search spaces, no scheduler, no
cluster: those need Ray Tune. Trials are the same as Tune's (``run_trial``), so a
sweep may move between the engines and resume."""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import time
from typing import List, Tuple

from tf_maddpg.sweep.spec import SweepSpec, Trial, parse_spec
from tf_maddpg.sweep.trial import (FAILED, TrialRecord, error_line, record_of, run_trial,
                                   write_records)


@contextlib.contextmanager
def _blas_threads_of_children(threads: int):
    """The trials' processes, started while this is open, load NumPy's BLAS with
    ``threads`` threads (``limit_blas_threads``); this process's variables are put
    back after."""
    from tf_maddpg.runtime import BLAS_THREAD_VARIABLES, limit_blas_threads

    saved = {name: os.environ.get(name) for name in BLAS_THREAD_VARIABLES}
    limit_blas_threads(threads)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_local(spec: SweepSpec, root: str, *, jobs: int = 1, threads: int = 1,
              verbose: bool = True) -> Tuple[List[TrialRecord], bool]:
    """Runs the grid's trials, ``jobs`` at a time; returns their records (in the grid's
    order) and whether the sweep was interrupted (Ctrl-C: each running trial saves a
    checkpoint and stops)."""
    trials = spec.grid()
    errors = {}
    done = set()
    started = time.time()

    def say(text):
        if verbose:
            print(f"[{time.time() - started:6.0f} s] {text}", flush=True)

    def records():
        out = []
        for trial in trials:
            record = record_of(spec, root, trial, errors.get(trial, ""))
            if record.status == "unfinished" and trial not in done:
                record.status = "pending"
            out.append(record)
        return out

    interrupted = False
    context = multiprocessing.get_context("spawn")
    with _blas_threads_of_children(threads), concurrent.futures.ProcessPoolExecutor(
            jobs, mp_context=context, max_tasks_per_child=1) as pool:
        futures = {}
        for trial in trials:
            futures[pool.submit(_trial, spec.to_dict(), root, trial, threads)] = trial
        try:
            for future in concurrent.futures.as_completed(futures):
                trial = futures[future]
                done.add(trial)
                try:
                    outcome = future.result()
                except Exception as error:  # noqa: BLE001 - a failed trial, reported
                    errors[trial] = error_line(f"{type(error).__name__}: {error}")
                    say(f"{FAILED:<7} {spec.folder(trial)}: {errors[trial]}")
                else:
                    interrupted = interrupted or outcome == "interrupted"
                    record = record_of(spec, root, trial)
                    mean = ("" if record.mean_return is None else
                            f", mean return {record.mean_return:.2f}")
                    say(f"{outcome:<7} {record.folder}: episode {record.episode}{mean}")
                write_records(root, records())
        except KeyboardInterrupt:
            interrupted = True
            for future in futures:
                future.cancel()
    final = [record_of(spec, root, t, errors.get(t, "")) for t in trials]
    write_records(root, final)
    return final, interrupted or any(r.status == "unfinished" for r in final)


def _trial(spec_data: dict, root: str, trial: Trial, threads: int) -> str:
    return run_trial(parse_spec(spec_data), root, trial, threads=threads)

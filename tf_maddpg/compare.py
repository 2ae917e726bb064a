"""tf_maddpg against the PyTorch reference: the same settings and seeds, side by side.

Each (side, seed) run trains with ``train`` (TensorFlow) or
``tf_maddpg.reference.train_reference`` (PyTorch) from the same
``MADDPGConfig``; both use the same environments, episode seeds, replay
buffer and evaluation, so their curves differ only by the learner and the
framework. Writes, under the output folder:

    tf/seed<S>/        the TensorFlow runs (full run folders)
    torch/seed<S>/     the PyTorch runs (config.json, metrics.csv)
    compare.png        per-agent evaluation return: both sides, mean and band over seeds
    compare.md         final returns, wall time, env steps/s and seconds per update
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

from tf_maddpg.algorithms.maddpg.config import MADDPGConfig

SIDES = ("tf", "torch")
OUTPUTS = ("compare.md", "compare.png") + SIDES
"""What a comparison writes in its folder (``tf-maddpg compare`` replaces it only with
``--overwrite``)."""
SIDE_NAMES = {"tf": "tf_maddpg (TensorFlow)", "torch": "PyTorch reference"}
LAST_EVALUATIONS = 5
"""The final return of a run is the mean of its last this-many evaluations."""


@dataclasses.dataclass
class RunSummary:
    """One finished (side, seed) run.

    Attributes:
      side: "tf" or "torch".
      seed: the run's seed.
      history: its evaluation rows.
      env_steps, num_updates: training env steps and updates.
      wall_s: seconds, evaluation included; eval_s, update_s: parts of it.
      first_update_s: the first update's part of update_s (TensorFlow: tracing).
    """

    side: str
    seed: int
    history: List[Dict[str, float]]
    env_steps: int
    num_updates: int
    wall_s: float
    eval_s: float
    update_s: float
    first_update_s: float

    @property
    def env_steps_per_s(self) -> float:
        """Training env steps per second, evaluation left out."""
        return self.env_steps / max(self.wall_s - self.eval_s, 1e-9)

    @property
    def seconds_per_update(self) -> float:
        """Mean seconds of one update of every agent, the first (tracing) left out."""
        return (self.update_s - self.first_update_s) / max(self.num_updates - 1, 1)

    def final_returns(self, names: Sequence[str]) -> np.ndarray:
        """Per agent, the mean return of the last ``LAST_EVALUATIONS`` evaluations."""
        rows = self.history[-LAST_EVALUATIONS:]
        return np.array([np.mean([r[f"return/{n}"] for r in rows]) for n in names])


def run_side(side: str, scenario: str, config: MADDPGConfig, out_dir: str,
             env_kwargs: Optional[dict] = None, threads: Optional[int] = None) -> RunSummary:
    """Trains one side for ``config.seed`` into ``out_dir`` (replacing what is there).

    Args:
      threads: if set, the framework's thread pools are limited to it (for
        runs that share the machine).
    """
    if side == "tf":
        import tensorflow as tf

        from tf_maddpg.runtime import set_tensorflow_threads
        from tf_maddpg.training import train

        if threads:
            set_tensorflow_threads(tf, threads)
        result = train(config, scenario, env_kwargs=env_kwargs, out_dir=out_dir, verbose=False,
                       overwrite=True)
    elif side == "torch":
        from tf_maddpg.reference import train_reference

        result = train_reference(config, scenario, env_kwargs=env_kwargs, out_dir=out_dir,
                                 verbose=False, torch_threads=threads)
    else:
        raise ValueError(f"side must be one of {SIDES}, not {side!r}")
    return RunSummary(side, config.seed, result.history, result.env_steps, result.num_updates,
                      result.wall_s, result.eval_s, result.update_s, result.first_update_s)


def compare(scenario: str, seeds: Sequence[int], config: MADDPGConfig, out_dir: str, *,
            env_kwargs: Optional[dict] = None, jobs: int = 1, threads: Optional[int] = None,
            engine: str = "local", address: Optional[str] = None,
            command: str = "", verbose: bool = True) -> List[RunSummary]:
    """Trains both sides for every seed and writes compare.png and compare.md.

    Args:
      scenario: an mpe2 scenario name.
      seeds: the seeds; each side runs once per seed.
      config: the settings of both sides (its ``seed`` is replaced by each seed).
      out_dir: the output folder.
      jobs: runs at once, each in its own process; the runs alternate sides
        (tf seed 0, torch seed 0, tf seed 1, ...) so that both see the same load.
      threads: thread pool size of each run (default: 1 when ``jobs > 1``).
      engine: ``"local"`` (this process for ``jobs=1``, else a pool of
        processes) or ``"ray"``: each run a Ray task with ``threads`` CPUs (1
        by default), at most ``jobs`` at once, on the Ray of ``address`` (as
        ``tf-maddpg sweep``'s: None starts Ray on this machine; on a cluster,
        ``out_dir`` must be a folder that every machine sees at that path).
      address: the Ray cluster of engine ``"ray"``.
      command: the command line, written into compare.md.

    Raises:
      ImportError: PyTorch is not installed, or Ray for engine ``"ray"``
        (``tf_maddpg.sweep.run.RayMissing``: the message names the install command).
      tf_maddpg.sweep.run.RayConnectError: Ray could not start or be reached.
    """
    import tf_maddpg.reference  # noqa: F401  (fails early, with the install hint)

    tasks = [(side, scenario, config.replace(seed=seed),
              os.path.join(out_dir, side, f"seed{seed}"), env_kwargs,
              threads or (1 if jobs > 1 else None))
             for seed in seeds for side in SIDES]
    started = time.perf_counter()
    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be 'local' or 'ray', not {engine!r}")
    if engine == "ray":
        summaries = _run_on_ray(tasks, jobs, address, started if verbose else None)
    elif jobs == 1:
        summaries = []
        for task in tasks:
            summaries.append(run_side(*task))
            if verbose:
                _report(summaries[-1], started)
    else:
        with multiprocessing.get_context("spawn").Pool(jobs, maxtasksperchild=1) as pool:
            pending = [pool.apply_async(run_side, task) for task in tasks]
            summaries = []
            for result in pending:
                summaries.append(result.get())
                if verbose:
                    _report(summaries[-1], started)
    names = [k[len("return/"):] for k in summaries[0].history[0] if k.startswith("return/")]
    write_plot(summaries, names, os.path.join(out_dir, "compare.png"), title=scenario)
    write_report(summaries, names, os.path.join(out_dir, "compare.md"), scenario, config,
                 command, jobs)
    return summaries


def _run_on_ray(tasks, jobs: int, address: Optional[str],
                started: Optional[float]) -> List[RunSummary]:
    """``run_side`` of every task as a Ray task (``threads`` CPUs each), at most ``jobs``
    at once, in the tasks' order; reports each run as it ends when ``started`` is given."""
    from tf_maddpg.sweep.run import ray_engine

    tune = ray_engine()
    import ray

    def finish(ref, index):
        done[index] = ray.get(ref)
        if started is not None:
            _report(done[index], started)

    done = {}
    with tune.ray_session(address):
        remote = ray.remote(max_retries=0)(run_side)
        running = {}
        for index, task in enumerate(tasks):
            while len(running) >= jobs:
                (ready,), _ = ray.wait(list(running), num_returns=1)
                finish(ready, running.pop(ready))
            running[remote.options(num_cpus=task[-1] or 1).remote(*task)] = index
        while running:
            (ready,), _ = ray.wait(list(running), num_returns=1)
            finish(ready, running.pop(ready))
    summaries = [done[i] for i in range(len(tasks))]
    return summaries


def write_plot(summaries: Sequence[RunSummary], names: Sequence[str], path: str,
               title: str = "") -> None:
    """compare.png: one panel per agent; each side's mean over seeds with a min-max band."""
    from tf_maddpg.runs.plots import plot_groups

    groups = {SIDE_NAMES[side]: [s.history for s in summaries if s.side == side]
              for side in SIDES}
    plot_groups({label: runs for label, runs in groups.items() if runs}, path,
                title=f"{title}: mean and min-max band over seeds",
                colors={SIDE_NAMES["tf"]: "tab:orange", SIDE_NAMES["torch"]: "tab:blue"},
                ylabel="greedy evaluation return")


def write_report(summaries: Sequence[RunSummary], names: Sequence[str], path: str,
                 scenario: str, config: MADDPGConfig, command: str = "", jobs: int = 1) -> str:
    """compare.md: per side, final returns (mean +- std over seeds) and speed."""
    seeds = sorted({s.seed for s in summaries})
    lines = [f"# {scenario}: tf_maddpg against the PyTorch reference", ""]
    if command:
        lines += ["Made with:", "", "```bash", command, "```", ""]
    lines += [f"{config.num_episodes} episodes per run, seeds {', '.join(map(str, seeds))}, "
              f"the same MADDPGConfig on both sides (update_order={config.update_order}, "
              f"target_actions={config.target_actions}, other_actions={config.other_actions}, "
              f"max_grad_norm={config.max_grad_norm}); {jobs} run(s) at a time. "
              f"Final return: the mean of a run's last {LAST_EVALUATIONS} evaluations "
              f"({config.eval_episodes} greedy episodes each), then mean +- std over seeds.", ""]
    header = (["side"] + [f"final {n}" for n in names]
              + ["wall time (s)", "env steps/s", "s per update"])
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for side in SIDES:
        runs = [s for s in summaries if s.side == side]
        if not runs:
            continue
        finals = np.array([s.final_returns(names) for s in runs])
        cells = [SIDE_NAMES[side]]
        cells += [f"{finals[:, k].mean():.2f} +- {finals[:, k].std():.2f}"
                  for k in range(len(names))]
        cells += [_median_range([s.wall_s for s in runs], "{:.0f}"),
                  _median_range([s.env_steps_per_s for s in runs], "{:.0f}"),
                  _median_range([s.seconds_per_update for s in runs], "{:.4f}")]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Timings: median (min-max) over seeds; env steps/s leaves evaluation out; "
              "s per update leaves out each run's first update (TensorFlow traces its graph "
              "then). Per run:", "",
              "| side | seed | " + " | ".join(f"final {n}" for n in names)
              + " | wall time (s) | env steps/s | updates | s per update | first update (s) |",
              "|" + "---|" * (len(names) + 7)]
    for s in sorted(summaries, key=lambda s: (s.side, s.seed)):
        lines.append(f"| {s.side} | {s.seed} | "
                     + " | ".join(f"{v:.2f}" for v in s.final_returns(names))
                     + f" | {s.wall_s:.0f} | {s.env_steps_per_s:.0f} | {s.num_updates} | "
                       f"{s.seconds_per_update:.4f} | {s.first_update_s:.2f} |")
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return text


def _median_range(values, fmt):
    values = np.asarray(values, dtype=float)
    return (fmt.format(np.median(values)) + " (" + fmt.format(values.min()) + "-"
            + fmt.format(values.max()) + ")")


def _report(summary: RunSummary, started: float) -> None:
    print(f"[{time.perf_counter() - started:7.0f} s] {summary.side} seed {summary.seed}: "
          f"{summary.env_steps_per_s:.0f} env steps/s, {summary.wall_s:.0f} s", flush=True)

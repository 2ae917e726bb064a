"""What a run shows and writes as it goes: the progress bar, the evaluation table,
metrics.csv, returns.png and TensorBoard events."""

from __future__ import annotations

import math
import os
import sys

import tensorflow as tf
from tqdm.auto import tqdm

from tf_maddpg.runs import folder
from tf_maddpg.runs.atomic import replacing
from tf_maddpg.runs.metrics import MetricsCSV, metric_columns
from tf_maddpg.runs.plots import plot_returns


class RunLog:
    """Everything a run shows and writes: the bar, the table, metrics.csv, returns.png, TensorBoard.

    Args:
      out_dir: the run folder, or None (then only the bar and the table).
      names: the agents, in order.
      verbose: show the bar (on a terminal) and print the table.
      title: the title of returns.png (scenario, algorithm, seed).
    """

    def __init__(self, out_dir, names, verbose, title=None):
        self.out_dir = out_dir
        self.names = names
        self.verbose = verbose
        self.title = title
        self.csv = None
        self.writer = None
        self.bar = None
        self.header_printed = False
        self.latest = ""

    def open(self, history):
        """Starts the run folder's logs from ``history`` (a resumed run's rows, from its
        checkpoint): metrics.csv and returns.png are written anew from them."""
        if not self.out_dir:
            return
        self.csv = MetricsCSV(os.path.join(self.out_dir, folder.METRICS_FILE),
                              metric_columns(self.names), history)
        if history:
            self.plot(history)
        self.writer = tf.summary.create_file_writer(
            os.path.join(self.out_dir, folder.TENSORBOARD_DIR))

    def start_bar(self, total, done):
        # A bar on a terminal; elsewhere (a log file, CI) only the table's lines.
        interactive = self.verbose and sys.stderr.isatty()
        self.bar = tqdm(total=total, initial=done, unit="ep", disable=not interactive,
                        dynamic_ncols=True)

    def episodes_done(self, count, rate):
        self.bar.update(count)
        if not self.bar.disable:
            self.bar.set_postfix_str(f"{rate:.0f} steps/s{self.latest}", refresh=False)

    def close_bar(self):
        if self.bar is not None:
            self.bar.close()

    def say(self, message):
        if self.verbose:
            (self.bar.write if self.bar is not None else print)(message)
            sys.stdout.flush()

    def plot(self, history):
        """Redraws returns.png (under a temporary name, then renamed)."""
        with replacing(os.path.join(self.out_dir, folder.PLOT_FILE)) as temporary:
            plot_returns(history, temporary, title=self.title)

    def evaluation(self, row, history, rate):
        if self.csv:
            self.csv.write(row)
            self.plot(history)
            with self.writer.as_default(step=int(row["env_steps"])):
                for key, value in row.items():
                    if key.startswith(("return/", "loss/")) and math.isfinite(value):
                        tf.summary.scalar(key, value)
                tf.summary.scalar("env_steps_per_s", rate)
            self.writer.flush()
        self.latest = " | " + " ".join(f"{n} {row[f'return/{n}']:.2f}" for n in self.names)
        if not self.verbose:
            return
        if not self.header_printed:
            self.say(f"{'episode':>8} {'env_steps':>10} {'steps/s':>8} {'wall_s':>8} "
                     + " ".join(f"{n:>12}" for n in self.names))
            self.header_printed = True
        self.say(f"{row['episode']:>8} {row['env_steps']:>10} {rate:>8.0f} "
                 f"{row['wall_s']:>8.1f} "
                 + " ".join(f"{row[f'return/{n}']:>12.2f}" for n in self.names))

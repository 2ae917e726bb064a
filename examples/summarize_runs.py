"""Summarise several training runs (seeds) of the same task.

    python examples/summarize_runs.py runs/simple_adversary/seed0 runs/simple_adversary/seed1 \
        runs/simple_adversary/seed2 --last 5 --plot docs/results/returns.png

Prints a Markdown table with, per run, the mean evaluation return per agent
over the last N evaluations, the episodes and env steps, and the wall time;
then the mean +- std over runs. With --plot, draws the per-agent mean over
runs with a min-max band.
"""

import argparse
import os
import sys

import numpy as np

from tf_maddpg.runs.metrics import read_metrics
from tf_maddpg.runs.plots import plot_returns_over_seeds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run directories holding metrics.csv")
    parser.add_argument("--last", type=int, default=5,
                        help="average the last N evaluations (default: %(default)s)")
    parser.add_argument("--plot", help="write the mean-and-band plot here")
    parser.add_argument("--title", default=None, help="plot title")
    args = parser.parse_args(argv)

    runs = []
    for run in args.runs:
        path = os.path.join(run, "metrics.csv")
        if not os.path.exists(path):
            parser.error(f"{run} holds no metrics.csv: is it a run directory?")
        rows = read_metrics(path)
        if not rows:
            parser.error(f"{path} has no evaluation rows yet")
        runs.append(rows)
    keys = [k for k in runs[0][0] if k.startswith("return/")]
    agents = [k[len("return/"):] for k in keys]

    print(f"| run | {' | '.join(agents)} | episodes | env steps | wall time (s) |")
    print("|---" * (len(agents) + 4) + "|")
    finals = []
    for run, rows in zip(args.runs, runs):
        last = rows[-args.last:]
        final = [float(np.mean([r[k] for r in last])) for k in keys]
        finals.append(final)
        print(f"| {run} | " + " | ".join(f"{v:.2f}" for v in final)
              + f" | {int(rows[-1]['episode'])} | {int(rows[-1]['env_steps'])} "
                f"| {rows[-1]['wall_s']:.0f} |")
    finals = np.array(finals)
    print("| mean +- std | " + " | ".join(f"{m:.2f} +- {s:.2f}" for m, s in
                                       zip(finals.mean(0), finals.std(0))) + " | | | |")
    if args.plot:
        plot_returns_over_seeds(runs, args.plot, title=args.title)
        print(f"\nplot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

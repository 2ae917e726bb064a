"""Where an on-policy run's time goes: each piece of ``tf-maddpg train``'s loop, timed.

Trains IPPO or MAPPO with its defaults (``--algo``) on ``simple_spread_v3``
through ``tf_maddpg.train`` with a run folder, as ``tf-maddpg train --out
DIR`` does, and times every call of each piece of a round with
``time.perf_counter``: acting (the actors' compiled call and the sampling),
the batched environments' step, storing the step, the update's first pass
(log-probabilities and values of the rollout), GAE and the rewards, the
epochs' compiled steps, evaluation, checkpoints; what is left of the wall
time is the loop's own Python (resets, counters, the bar). The first round
(TensorFlow traces its graphs then) is counted apart. Prints a Markdown
table: seconds per round of each piece and its share of a steady round,
median over ``--repeats`` runs.

Run from the repository root, with nothing else running:

    python benchmarks/on_policy_profile.py --algo ippo --repeats 3
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import statistics
import tempfile
import time

import _common

PIECES = [
    ("acting", "tf_maddpg.algorithms.ppo.policy", "StochasticPolicy", "sample"),
    ("env step", "tf_maddpg.envs.batched_mpe.vec", "BatchedVecEnv", "step"),
    ("env reset", "tf_maddpg.envs.batched_mpe.vec", "BatchedVecEnv", "reset"),
    ("storing the step", "tf_maddpg.storage.rollout", "Rollout", "add"),
    ("update: log-probs and values", "tf_maddpg.algorithms.ppo.learner", "PPOLearner", "prepare"),
    ("update: epochs", "tf_maddpg.algorithms.ppo.learner", "PPOLearner", "train"),
    ("evaluation", "tf_maddpg.training.session", "TrainingSession", "evaluate"),
    ("checkpoints", "tf_maddpg.training.session", "TrainingSession", "save_checkpoint"),
]
"""(piece, module, class, method): the calls timed. ``prepare`` includes GAE, timed
also on its own as "update: GAE and rewards" (and taken out of prepare's row)."""


@contextlib.contextmanager
def timed(totals: dict):
    """Wraps every piece's method (and GAE) so that each call adds its seconds to
    ``totals[piece]``; restores them after."""
    import importlib

    patched = []

    def wrap(owner, name, piece):
        original = getattr(owner, name)

        def timed_call(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[piece] += time.perf_counter() - started

        setattr(owner, name, timed_call)
        patched.append((owner, name, original))

    for piece, module, cls, method in PIECES:
        wrap(getattr(importlib.import_module(module), cls), method, piece)
    learner = importlib.import_module("tf_maddpg.algorithms.ppo.learner")
    wrap(learner, "gae", "update: GAE and rewards")
    wrap(learner.PPOLearner, "learning_rewards", "update: GAE and rewards")
    try:
        yield
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


def profile(algo: str, rounds: int, eval_every: int, options: dict) -> dict:
    """Seconds per piece over ``rounds`` rounds after the first, and the first round's."""
    from tf_maddpg import train
    from tf_maddpg.algorithms.registry import ALGORITHMS

    defaults = ALGORITHMS[algo].config_class(**options)
    envs = defaults.num_envs
    config = defaults.replace(num_episodes=envs * (rounds + 1), eval_interval=envs * eval_every,
                              checkpoint_interval=envs * eval_every)
    totals = collections.defaultdict(float)
    first = {}
    import tf_maddpg.training.session as session_module

    rounds_seen, last = [0], {}
    original_end = session_module.TrainingSession._end_round

    def end_round(self, count):
        rounds_seen[0] += 1
        if rounds_seen[0] == 1:  # the first round: tracing; counted apart
            first.update(totals, wall=time.perf_counter() - started)
            totals.clear()
            totals["_start"] = time.perf_counter()
        original_end(self, count)
        totals["_end"] = time.perf_counter()
        last.clear()
        last.update(totals)  # what the rounds took (the final checkpoint after them: not)

    session_module.TrainingSession._end_round = end_round
    try:
        with tempfile.TemporaryDirectory() as folder, timed(totals):
            started = time.perf_counter()
            train(config, "simple_spread_v3", out_dir=f"{folder}/run", verbose=False)
    finally:
        session_module.TrainingSession._end_round = original_end
    totals = collections.defaultdict(float, last)
    steady = totals.pop("_end") - totals.pop("_start")  # to the last round's end: the
    # final checkpoint, plot and SavedModels after the loop are left out
    totals["update: log-probs and values"] -= totals["update: GAE and rewards"]
    out = {k: v / rounds for k, v in totals.items()}
    out["the loop's own Python"] = (steady - sum(totals.values())) / rounds
    out["whole round"] = steady / rounds
    out["env steps/s"] = rounds * envs * defaults.episode_length / steady
    out["first round"] = first["wall"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--algo", default="ippo", choices=["ippo", "mappo", "happo"])
    parser.add_argument("--rounds", type=int, default=40,
                        help="rounds timed after the first (default: 40)")
    parser.add_argument("--eval-every", type=int, default=10,
                        help="rounds between evaluations and checkpoints (default: 10; "
                             "the defaults' 25 with 128 environments)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--options", type=json.loads, default={},
                        help='config fields as JSON, e.g. \'{"hidden_norm": false}\'')
    args = parser.parse_args()
    from tf_maddpg.runtime import quiet_tensorflow

    quiet_tensorflow()
    runs = [profile(args.algo, args.rounds, args.eval_every, args.options)
            for _ in range(args.repeats)]
    keys = [k for k in runs[0] if k not in ("whole round", "env steps/s", "first round")]
    keys.sort(key=lambda k: -statistics.median(r[k] for r in runs))
    whole = statistics.median(r["whole round"] for r in runs)
    rows = [[k, f"{statistics.median(r[k] for r in runs) * 1e3:.1f}",
             f"{100 * statistics.median(r[k] for r in runs) / whole:.1f}%"] for k in keys]
    rows.append(["whole round", f"{whole * 1e3:.1f}", "100%"])
    changed = f" with {json.dumps(args.options)}" if args.options else ""
    print(f"{args.algo}, simple_spread_v3, its defaults{changed}; {args.rounds} rounds after "
          f"the first, an evaluation and a checkpoint every {args.eval_every}; median of "
          f"{args.repeats}")
    print(_common.markdown_table(["piece", "ms per round", "share"], rows))
    rate = statistics.median(r["env steps/s"] for r in runs)
    first = statistics.median(r["first round"] for r in runs)
    print(f"\nenv steps/s, steady: {rate:,.0f}; first round (tracing): {first:.1f} s")
    print(f"\n{_common.machine_line()}\n{_common.command_line()}")


if __name__ == "__main__":
    main()

"""Train MADDPG on mpe2's simple_adversary_v3 with the PyTorch reference's settings.

    python examples/train_simple_adversary.py --episodes 5000 --seed 0 --out runs/simple_adversary

Prints the evaluation table as it goes and writes DIR/metrics.csv,
DIR/returns.png, DIR/config.json and the trained actors in DIR/actors/.
"""

import argparse
import sys

from tf_maddpg import MADDPGConfig, train


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=MADDPGConfig.num_episodes,
                        help="training episodes (default: %(default)s, the reference's)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default: %(default)s)")
    parser.add_argument("--out", default="runs/simple_adversary",
                        help="output directory (default: %(default)s)")
    parser.add_argument("--eval-interval", type=int, default=MADDPGConfig.eval_interval,
                        help="episodes between evaluations (default: %(default)s)")
    parser.add_argument("--eval-episodes", type=int, default=MADDPGConfig.eval_episodes,
                        help="greedy episodes per evaluation (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        config = MADDPGConfig(num_episodes=args.episodes, seed=args.seed,
                              eval_interval=args.eval_interval,
                              eval_episodes=args.eval_episodes)
    except ValueError as error:
        parser.error(str(error))
    try:
        train(config, "simple_adversary_v3", out_dir=args.out)
    except KeyboardInterrupt:
        print("interrupted: what was done so far is saved in", args.out, file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

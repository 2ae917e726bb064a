"""Train tf_maddpg and the PyTorch reference side by side on simple_adversary_v3.

    pip install torch==2.13.0
    python examples/compare_with_pytorch.py --episodes 3000 --seeds 0 1 2 --out runs/compare

The same as ``tf-maddpg compare simple_adversary_v3 [options]`` (``--help``
lists them): writes DIR/compare.png, DIR/compare.md and every run's metrics.
"""

import sys

from tf_maddpg.cli import main

if __name__ == "__main__":
    sys.exit(main(["compare", "simple_adversary_v3", *sys.argv[1:]]))

"""Train MADDPG on mpe2's simple_adversary_v3 with the PyTorch reference's settings.

    python examples/train_simple_adversary.py --out runs/simple_adversary
    python examples/train_simple_adversary.py --episodes 3000 --seed 1 --out runs/sa1

The same as ``tf-maddpg train simple_adversary_v3 [options]``: every option
of that command works here (``--help`` lists them). Prints the evaluation
table as it goes and writes the run folder: metrics.csv, returns.png,
config.json, tensorboard/, checkpoints/, actors/ and saved_model/.
"""

import sys

from tf_maddpg.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", "simple_adversary_v3", *sys.argv[1:]]))

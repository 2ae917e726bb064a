"""Training: the loops (``off_policy.py``), the session that every loop shares
(evaluation, checkpoints, Ctrl-C, logging: ``session.py``), and ``train``."""

from tf_maddpg.training.api import train
from tf_maddpg.training.evaluation import evaluate, play_episodes
from tf_maddpg.training.session import TrainingResult

__all__ = ["TrainingResult", "evaluate", "play_episodes", "train"]

"""Where experience is kept between acting and learning: replay (off-policy)."""

from tf_maddpg.storage.episodes import EpisodeReplay
from tf_maddpg.storage.replay import Batch, ReplayBuffer, TransitionLayout

__all__ = ["Batch", "EpisodeReplay", "ReplayBuffer", "TransitionLayout"]

"""Every random stream of a run, derived from its one seed without overlaps.

``numpy.random.SeedSequence(seed)`` spawns one child per stream, so no two
streams of a run, and no stream of two runs with different seeds, share
their random numbers (``seed + 1`` for one stream and ``seed + 2`` for
another would make seed 0's exploration seed 2's replay sampling). Episode
and evaluation start states are children too, keyed by the episode number, so
a resumed run meets the same ones and each seed is evaluated on its own set.
"""

from __future__ import annotations

from typing import List

import numpy as np

STREAMS = ("networks", "update_noise", "replay", "exploration", "episodes", "evaluation")
"""The streams of a run, in spawn order (a new stream goes at the end, so the
others keep their numbers)."""


class RunSeeds:
    """The seeds and generators of one run.

    Args:
      seed: the run's seed (``config.seed``).
    """

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._children = dict(zip(STREAMS, np.random.SeedSequence(self.seed).spawn(len(STREAMS))))

    def integer(self, stream: str) -> int:
        """A 32-bit integer seed for ``stream`` (for Keras and ``tf.random.Generator``)."""
        return int(self._children[stream].generate_state(1)[0])

    def generator(self, stream: str) -> np.random.Generator:
        """A fresh NumPy generator of ``stream``."""
        return np.random.default_rng(self._children[stream])

    def episode_seed(self, episode: int) -> int:
        """The reset seed of training episode ``episode`` (1-based)."""
        return self._keyed("episodes", episode)

    def evaluation_seeds(self, count: int) -> List[int]:
        """The reset seeds of the ``count`` evaluation episodes: the same at every
        evaluation of the run, different for every run seed."""
        return [self._keyed("evaluation", k) for k in range(count)]

    def _keyed(self, stream: str, key: int) -> int:
        parent = self._children[stream]
        child = np.random.SeedSequence(parent.entropy, spawn_key=(*parent.spawn_key, int(key)))
        return int(child.generate_state(1)[0])

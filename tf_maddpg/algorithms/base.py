"""What the registry records of an algorithm (kept apart from the registry, which
imports every algorithm's folder, so that a folder can define its entry)."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Sequence, Type

from tf_maddpg.config import RunConfig

LOOPS = ("off_policy", "on_policy")
"""The training loops an algorithm can run in (tf_maddpg.training)."""


@dataclasses.dataclass(frozen=True)
class Algorithm:
    """What the library needs to know about one algorithm.

    Attributes:
      name: the registry name (``--algo NAME``), also ``config_class.algo``.
      config_class: its frozen configuration dataclass.
      summary: one line for ``--help``: what it is.
      loop: the training loop it runs in, one of ``LOOPS``.
      learner: ``"module:Class"`` (or ``"module:function"``); ``Class(specs, config)``
        builds the networks and the compiled update.
      policy: ``"module:function"``; ``function(specs, actors, config, rng=None)``
        builds the acting policy over the learner's actors.
    """

    name: str
    config_class: Type[RunConfig]
    summary: str
    loop: str
    learner: str
    policy: str

    def __post_init__(self):
        if self.config_class.algo != self.name:
            raise ValueError(f"{self.config_class.__name__}.algo is "
                             f"{self.config_class.algo!r}, not {self.name!r}")
        if self.loop not in LOOPS:
            raise ValueError(f"algorithm {self.name}: loop must be one of {LOOPS}")

    def make_learner(self, specs: Sequence, config: RunConfig):
        """The learner of ``config`` for agents ``specs``."""
        return _load(self.learner)(specs, config)

    def make_policy(self, specs: Sequence, actors: Sequence, config: RunConfig, rng=None):
        """The acting policy over ``actors`` (``rng`` draws its exploration)."""
        return _load(self.policy)(specs, actors, config, rng=rng)


def _load(target: str):
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)

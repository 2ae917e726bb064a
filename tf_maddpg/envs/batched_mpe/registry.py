"""The batched scenarios by mpe2 module name, and ``make_batched_env``."""

from __future__ import annotations

import operator
from typing import Any, Dict, Type

from tf_maddpg.envs.batched_mpe.basic import (Simple, SimpleAdversary, SimpleCrypto, SimplePush,
                                              SimpleReference, SimpleSpeakerListener)
from tf_maddpg.envs.batched_mpe.env import BatchedMPEEnv
from tf_maddpg.envs.batched_mpe.formation import SimpleFormation, SimpleLine
from tf_maddpg.envs.batched_mpe.physical import SimpleSpread, SimpleTag, SimpleWorldComm
from tf_maddpg.envs.batched_mpe.scenario import COMMON_OPTIONS, BatchedScenario
from tf_maddpg.envs.batched_mpe.treasure import CollectTreasure

# mpe2 module name -> batched scenario (mpe2 1.1.1's twelve scenarios).
SCENARIOS: Dict[str, Type[BatchedScenario]] = {
    cls.module: cls for cls in (
        Simple, SimpleAdversary, SimpleCrypto, SimplePush, SimpleReference,
        SimpleSpeakerListener, SimpleSpread, SimpleTag, SimpleWorldComm, CollectTreasure,
        SimpleFormation, SimpleLine)
}


def _resolve(scenario: str) -> Type[BatchedScenario]:
    if not isinstance(scenario, str):
        raise ValueError(f"scenario must be an mpe2 module name, one of {sorted(SCENARIOS)}; "
                         f"got {scenario!r}")
    name = scenario[len("mpe2."):] if scenario.startswith("mpe2.") else scenario
    if name not in SCENARIOS:
        raise ValueError(f"unknown mpe2 scenario {scenario!r}; valid scenarios: "
                         f"{sorted(SCENARIOS)}")
    return SCENARIOS[name]


def scenario_options(scenario: str) -> Dict[str, Any]:
    """A scenario's options (its mpe2 ``raw_env`` arguments) and their defaults.

    Args:
      scenario: the mpe2 module name, e.g. ``"simple_tag_v3"`` (an ``"mpe2."``
        prefix is accepted).

    Returns:
      ``{option: default}``.

    Raises:
      ValueError: an unknown scenario.
    """
    cls = _resolve(scenario)
    return {**COMMON_OPTIONS, **cls.OPTIONS}


def make_batched_env(scenario: str, num_envs: int, **env_kwargs: Any) -> BatchedMPEEnv:
    """Build ``num_envs`` environments of one mpe2 scenario, stepped together.

    Args:
      scenario: the mpe2 module name, e.g. ``"simple_spread_v3"`` (an
        ``"mpe2."`` prefix is accepted).
      num_envs: number of environments, at least 1.
      **env_kwargs: the scenario's mpe2 ``raw_env`` options (``N``,
        ``local_ratio``, ``max_cycles``, ``continuous_actions``, ...).
        ``render_mode`` must be None and ``benchmark_data`` False (no
        rendering, no infos); ``dynamic_rescaling`` only affects mpe2's
        rendering and is accepted as is.

    Returns:
      A ``BatchedMPEEnv``.

    Raises:
      ValueError: an unknown scenario or option, an option value mpe2 would
        reject or that this package does not support, or a bad ``num_envs``.
    """
    cls = _resolve(scenario)
    valid = {**COMMON_OPTIONS, **cls.OPTIONS}
    unknown = sorted(set(env_kwargs) - set(valid))
    if unknown:
        raise ValueError(f"{cls.module}: unknown option(s) {unknown}; valid options: "
                         f"{sorted(valid)}")
    try:
        count = operator.index(num_envs)  # ints and NumPy ints, not floats
    except TypeError:
        count = 0
    if isinstance(num_envs, bool) or count < 1:
        raise ValueError(f"{cls.module}: num_envs must be a positive int; got {num_envs!r}")
    options = {**valid, **env_kwargs}
    if options["render_mode"] is not None:
        raise ValueError(f"{cls.module}: render_mode={options['render_mode']!r} is not supported "
                         "(the batched env does not render); use render_mode=None")
    if options["benchmark_data"]:
        raise ValueError(f"{cls.module}: benchmark_data=True is not supported (the batched env "
                         "returns no infos); use benchmark_data=False")
    max_cycles = options["max_cycles"]
    if isinstance(max_cycles, bool) or not isinstance(max_cycles, int) or max_cycles < 0:
        raise ValueError(f"{cls.module}: max_cycles must be a non-negative int; "
                         f"got {max_cycles!r}")
    return BatchedMPEEnv(cls(count, options), count)

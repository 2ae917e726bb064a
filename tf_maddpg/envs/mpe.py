"""The mpe2 scenarios: which are installed, their options, and an adapter for one."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any, Dict, List

from tf_maddpg.envs.adapter import EnvAdapter
from tf_maddpg.envs.mpe_direct import DirectParallelEnv


def known_scenarios() -> List[str]:
    """The mpe2 scenario modules installed here, e.g. ``simple_adversary_v3``."""
    import mpe2
    return sorted(m.name for m in pkgutil.iter_modules(mpe2.__path__)
                  if not m.name.startswith("_") and m.name != "all_modules")


def make_env(scenario: str, max_cycles: int = 25, direct: bool = True, **kwargs) -> EnvAdapter:
    """Builds an mpe2 scenario wrapped in an ``EnvAdapter``.

    Args:
      scenario: the module name, e.g. ``"simple_adversary_v3"`` (an
        ``"mpe2."`` prefix is accepted).
      max_cycles: steps per episode.
      direct: step the scenario's ``raw_env`` with ``DirectParallelEnv``,
        which gives the same numbers as its ``parallel_env`` at about twice
        the speed; False uses ``parallel_env`` and PettingZoo's wrappers.
      **kwargs: passed to the scenario (``continuous_actions``, ``N``, ...).

    Raises:
      ValueError: the scenario is unknown (the message lists the known
        ones), or it does not take one of ``kwargs`` (the message lists the
        options it takes).
    """
    name = module_name(scenario)
    known = known_scenarios()
    if name not in known:
        raise ValueError(f"unknown scenario {scenario!r}; known mpe2 scenarios: "
                         f"{', '.join(known)}")
    module = importlib.import_module(f"mpe2.{name}")
    options = scenario_options(name)
    unknown = sorted(set(kwargs) - set(options))
    if unknown:
        raise ValueError(f"{name} has no option {', '.join(map(repr, unknown))}; its options: "
                         + ", ".join(f"{k}={v!r}" for k, v in options.items()))
    if direct:
        return EnvAdapter(DirectParallelEnv(module.raw_env(max_cycles=max_cycles, **kwargs)))
    return EnvAdapter(module.parallel_env(max_cycles=max_cycles, **kwargs))


def scenario_options(scenario: str) -> Dict[str, Any]:
    """The options an mpe2 scenario takes (besides ``max_cycles``), with their defaults.

    Read from the signature of the scenario's ``raw_env``, e.g.
    ``{"N": 3, "local_ratio": 0.5, "continuous_actions": False, ...}``.
    """
    module = importlib.import_module(f"mpe2.{module_name(scenario)}")
    signature = inspect.signature(module.raw_env.__init__)
    return {k: p.default for k, p in signature.parameters.items()
            if k not in ("self", "max_cycles") and p.kind is p.POSITIONAL_OR_KEYWORD}


def module_name(scenario: str) -> str:
    """``"mpe2.simple_v3"`` or ``"simple_v3"`` -> ``"simple_v3"``."""
    return scenario[len("mpe2."):] if scenario.startswith("mpe2.") else scenario

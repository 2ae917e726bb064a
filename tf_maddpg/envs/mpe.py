"""The mpe2 scenarios: which are installed, their options, and an adapter for one."""

from __future__ import annotations

import importlib
import inspect
import math
import numbers
import pkgutil
from typing import Any, Dict, List, Mapping

import numpy as np

from tf_maddpg.envs.adapter import EnvAdapter
from tf_maddpg.envs.mpe_direct import DirectParallelEnv
from tf_maddpg.inputs import did_you_mean, show_value


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
      ValueError: the scenario is unknown, or ``kwargs`` are not options it
        takes (``check_scenario_name``, ``check_scenario_options``).
    """
    name = check_scenario_name(scenario)
    kwargs = check_scenario_options(name, kwargs, renders=True)
    module = importlib.import_module(f"mpe2.{name}")
    if direct:
        return EnvAdapter(DirectParallelEnv(module.raw_env(max_cycles=max_cycles, **kwargs)))
    return EnvAdapter(module.parallel_env(max_cycles=max_cycles, **kwargs))


def check_scenario_name(scenario: str) -> str:
    """The module name of an installed mpe2 scenario (``module_name``).

    Raises:
      ValueError: ``unknown scenario 'x' (did you mean y?); known mpe2 scenarios: ...``
    """
    name = module_name(scenario)
    known = known_scenarios()
    if name not in known:
        raise ValueError(f"unknown scenario {scenario!r}{did_you_mean(name, known)}; "
                         f"known mpe2 scenarios: {', '.join(known)}")
    return name


def check_scenario_options(scenario: str, values: Mapping[str, Any], where: str = "",
                           renders: bool = False) -> Dict[str, Any]:
    """``values`` checked against the options the scenario takes: the one check of a
    scenario's options, whether they come from ``--env-arg``, a sweep file's
    ``env_args`` or ``make_env``. Returns them, a float option's value as a float.

    Every key must be an option of the scenario; a value must have the type of
    the option's default (true or false; an integer; a number), a count (an
    integer option) be >= 0 and a number be finite.

    Args:
      where: how the user gave the options (``--env-arg``, ``env_args``), named in
        the messages.
      renders: whether ``render_mode`` is an option (not for a run, which
        renders nothing: ``evaluate --render`` renders).

    Raises:
      ValueError: one line, e.g. ``simple_spread_v3 has no option 'n' (--env-arg);
        its options: N=3, ...`` or ``--env-arg N='four': simple_spread_v3's N takes
        an integer (default 3)``.
    """
    options = scenario_options(scenario)
    if not renders:
        options.pop("render_mode", None)
    name = module_name(scenario)
    given = f"{where} " if where else ""
    out = {}
    for key, value in values.items():
        if key not in options:
            raise ValueError(f"{name} has no option {key!r}{f' ({where})' if where else ''}; "
                             "its options: "
                             + ", ".join(f"{k}={show_value(v)}" for k, v in options.items()))
        default = options[key]
        flag = isinstance(value, (bool, np.bool_))
        kind, ok, convert = (
            ("true or false", flag, bool) if isinstance(default, bool) else
            ("an integer", isinstance(value, numbers.Integral) and not flag, int)
            if isinstance(default, int) else
            ("a number", isinstance(value, numbers.Real) and not flag, float)
            if isinstance(default, float) else (None, True, None))
        if not ok:
            raise ValueError(f"{given}{key}={value!r}: {name}'s {key} takes {kind} "
                             f"(default {show_value(default)})")
        if convert is int and value < 0:
            raise ValueError(f"{given}{key}={value}: {name}'s {key} is a count; give an "
                             f"integer >= 0 (default {show_value(default)})")
        if convert is float and not math.isfinite(value):
            raise ValueError(f"{given}{key}={value}: give a finite number (default "
                             f"{show_value(default)})")
        out[key] = convert(value) if convert else value
    return out


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

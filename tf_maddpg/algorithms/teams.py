"""Teams: which agents play on one side, from their names alone.

Pure Python on agent names (no TensorFlow), shared by the families that train a
team on one signal: the value-based mixers (VDN, QMIX: one TD error per team)
and the on-policy family (the team's summed reward; HAPPO's one critic and one
advantage per team).

On a cooperative scenario every agent is on one team. On a competitive one the
agents whose names differ only by their number form a team: simple_adversary
and simple_tag have ``adversary_*`` against ``agent_*``.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, Iterable, List, Sequence, Tuple

TEAM_RULES = ("auto", "one", "by_name")
"""How ``teams_of`` forms teams (a config's ``teams`` field)."""

TEAM_REWARDS = ("sum", "mean")
"""A team's reward from its members' (a config's ``team_reward`` field): their sum
(EPyMARL's ``reward_scalarisation``, the MAPPO repository's and HARL's MPE) or mean."""

ADVERSARY_PREFIXES = ("adversary_", "leadadversary_", "eve_")
"""How mpe2 names the agents of the opposing side in its competitive scenarios
(simple_adversary, simple_tag, simple_push: ``adversary_*``; simple_world_comm:
``leadadversary_0`` and ``adversary_*``; simple_crypto: ``eve_0``). Its
cooperative scenarios (simple, simple_spread, simple_reference,
simple_speaker_listener) have none."""

Teams = Tuple[Tuple[int, ...], ...]


def team_name(agent: str) -> str:
    """The agent's name without its numbers: ``adversary_2`` -> ``adversary_``."""
    return re.sub(r"\d+", "", agent)


def group_of(agent: str) -> str:
    """``adversary_0`` -> ``adversary``: the name of the agent's group (reports and
    sweep metrics), the agents whose names differ only by their final number."""
    return re.sub(r"_\d+$", "", agent)


def groups(names: Sequence[str]) -> Dict[str, List[str]]:
    """The agent groups of ``names`` (in first-seen order), each with its agents."""
    out: Dict[str, List[str]] = {}
    for name in names:
        out.setdefault(group_of(name), []).append(name)
    return out


def is_competitive(names: Sequence[str]) -> bool:
    """Whether mpe2's naming marks an opposing side (``ADVERSARY_PREFIXES``)."""
    return any(team_name(n).startswith(ADVERSARY_PREFIXES) for n in names)


def teams_of(names: Sequence[str], rule: str = "auto") -> Teams:
    """The teams of agents ``names`` (indices, in agent order; teams ordered by their first agent).

    Args:
      names: the agents' names, in the adapter's order.
      rule: 'one' (every agent on one team), 'by_name' (agents whose names
        differ only by their numbers form a team) or 'auto' ('by_name' when
        some agent is an mpe2 adversary, see ``ADVERSARY_PREFIXES``, else 'one').

    Raises:
      ValueError: ``rule`` is not one of ``TEAM_RULES``.
    """
    if rule not in TEAM_RULES:
        raise ValueError(f"rule must be one of {TEAM_RULES}, got {rule!r}")
    if rule == "one" or (rule == "auto" and not is_competitive(names)):
        return (tuple(range(len(names))),)
    return grouped(range(len(names)), lambda i: team_name(names[i]))


def grouped(indices: Iterable[int], key: Callable) -> Teams:
    """``indices`` grouped by ``key`` (groups ordered by their first index)."""
    groups = {}
    for i in indices:
        groups.setdefault(key(i), []).append(i)
    return tuple(tuple(g) for g in sorted(groups.values(), key=lambda g: g[0]))

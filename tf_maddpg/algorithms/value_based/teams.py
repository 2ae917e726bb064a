"""Who trains with whom in IQL, VDN and QMIX: the teams, and the agents that share a network.

Pure Python on agent names and sizes (no TensorFlow), so that a configuration
can be checked before anything is built.

* A **team** is the set of agents whose Q-values one TD error trains (VDN and
  QMIX; IQL trains every agent on its own reward). On a cooperative scenario
  every agent is on one team. On a competitive one the agents whose names
  differ only by their number form a team: simple_adversary and simple_tag
  have ``adversary_*`` against ``agent_*``.
* A **parameter group** is the set of agents that share one Q-network
  (``share_parameters``): the agents of one team with the same observation and
  action sizes. A group of several agents feeds its network a one-hot of the
  agent's place in the group beside the observation.
"""

from __future__ import annotations

import re
from typing import Sequence, Tuple

TEAM_RULES = ("auto", "one", "by_name")

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
    return _grouped(range(len(names)), lambda i: team_name(names[i]))


def parameter_groups(specs: Sequence, teams: Teams, share: bool) -> Teams:
    """The agents that share one Q-network (indices, groups ordered by their first agent).

    With ``share`` the agents of one team with equal observation and action
    sizes form a group; without, every agent is a group of its own.
    """
    if not share:
        return tuple((i,) for i in range(len(specs)))
    team_of = {i: t for t, team in enumerate(teams) for i in team}
    return _grouped(range(len(specs)),
                    lambda i: (team_of[i], specs[i].obs_dim, specs[i].action_dim))


def _grouped(indices, key) -> Teams:
    groups = {}
    for i in indices:
        groups.setdefault(key(i), []).append(i)
    return tuple(tuple(g) for g in sorted(groups.values(), key=lambda g: g[0]))

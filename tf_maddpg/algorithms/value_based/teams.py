"""Who shares a Q-network in IQL, VDN and QMIX (the teams themselves: ``algorithms/teams.py``).

A **parameter group** is the set of agents that share one Q-network
(``share_parameters``): the agents of one team with the same observation and
action sizes. A group of several agents feeds its network a one-hot of the
agent's place in the group beside the observation. VDN and QMIX train a team
on one TD error; IQL trains every agent on its own reward.
"""

from __future__ import annotations

from typing import Sequence

from tf_maddpg.algorithms.teams import Teams, grouped


def parameter_groups(specs: Sequence, teams: Teams, share: bool) -> Teams:
    """The agents that share one Q-network (indices, groups ordered by their first agent).

    With ``share`` the agents of one team with equal observation and action
    sizes form a group; without, every agent is a group of its own.
    """
    if not share:
        return tuple((i,) for i in range(len(specs)))
    team_of = {i: t for t, team in enumerate(teams) for i in team}
    return grouped(range(len(specs)),
                   lambda i: (team_of[i], specs[i].obs_dim, specs[i].action_dim))

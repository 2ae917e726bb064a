"""The registry of algorithms: one entry per algorithm, read by everything that
must know them (the command line's ``--algo``, the training loops, checkpoints,
evaluation, export and the results scripts).

An algorithm's folder defines its ``ALGORITHM`` entry; adding an algorithm is
that folder and one line in ``ALGORITHMS`` below. Importing this module loads
the configurations only, not TensorFlow: the learner and the policy are named
as ``"module:attribute"`` and imported when first built.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Dict, Optional, Type

from tf_maddpg.algorithms import happo, ippo, iql, maddpg, mappo, matd3, qmix, vdn
from tf_maddpg.algorithms.base import Algorithm
from tf_maddpg.config import RunConfig

ALGORITHMS: Dict[str, Algorithm] = {a.name: a for a in (
    maddpg.ALGORITHM,
    matd3.ALGORITHM,
    iql.ALGORITHM,
    vdn.ALGORITHM,
    qmix.ALGORITHM,
    ippo.ALGORITHM,
    mappo.ALGORITHM,
    happo.ALGORITHM,
)}
"""Every algorithm by name, in the order ``--help`` lists them."""


def get(name: str) -> Algorithm:
    """The registered algorithm ``name``.

    Raises:
      ValueError: no algorithm has that name (the message lists them).
    """
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algo {name!r}; expected one of {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]


def algorithm_of(config: RunConfig) -> Algorithm:
    """The registered algorithm of a configuration."""
    return get(config.algo)


def config_from_dict(values: dict, default_algo: str = "maddpg", saved: bool = False
                     ) -> RunConfig:
    """The config a dict describes: ``values["algo"]`` (else ``default_algo``) picks the class,
    ``values["preset"]`` (optional) a published configuration under the other values.

    ``saved``: the dict is a run's saved config.json (a field it predates takes
    its ``saved_defaults`` value, the behaviour the run was trained with).

    Raises:
      ValueError: the algorithm or preset is unknown, a field does not exist
        for it (the message names the algorithm that has it), or a value is bad.
    """
    values = dict(values)
    cls = get(values.pop("algo", default_algo)).config_class
    preset = values.pop("preset", None)
    if saved:
        values = cls.saved_values(values)
    unknown = sorted(set(values) - set(field_names(cls)))
    if unknown:
        owners = {}
        for algorithm in ALGORITHMS.values():
            for name in field_names(algorithm.config_class):
                owners.setdefault(name, algorithm.name)
        hints = [f"{k} (a field of algo {owners[k]})" if k in owners else k for k in unknown]
        raise ValueError(f"algo {cls.algo} has no field {', '.join(hints)}")
    if preset is not None:
        return cls.from_preset(preset, **values)
    return cls(**values)


def field_names(cls: Type[RunConfig]) -> list:
    """The field names of a configuration class, in declaration order."""
    return [f.name for f in dataclasses.fields(cls)]


@functools.lru_cache(maxsize=None)
def field_docs(first: Optional[str] = None) -> Dict[str, str]:
    """Each field's one-paragraph description (its ``documented`` help): algorithm
    ``first``'s where it has the field (a field such as team_reward means a little
    different things in the PPO and the value-based families), else the first
    algorithm's that has it."""
    docs = {}
    chosen = ([ALGORITHMS[first]] if first else []) + list(ALGORITHMS.values())
    for algorithm in chosen:
        for field in dataclasses.fields(algorithm.config_class):
            if "help" in field.metadata:
                docs.setdefault(field.name, field.metadata["help"])
    return docs


def describe(name: Optional[str] = None) -> str:
    """``name: summary`` lines for ``--help`` (all algorithms, or one)."""
    chosen = [get(name)] if name else list(ALGORITHMS.values())
    return "\n".join(f"  {a.name:<8} {a.summary}" for a in chosen)

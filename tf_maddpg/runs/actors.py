"""The actors of a run as ``.keras`` files (``RUN_DIR/actors/<agent>.keras``)."""

from __future__ import annotations

import os
import zipfile
from typing import List, Optional, Sequence

import keras

from tf_maddpg.algorithms.registry import algorithm_of
from tf_maddpg.envs.specs import AgentSpec
from tf_maddpg.networks import CUSTOM_OBJECTS
from tf_maddpg.networks.recurrent import io_sizes
from tf_maddpg.runs.folder import ACTORS_DIR, RunInfo, read_run


def save_actors(actors: Sequence[keras.Model], specs: Sequence[AgentSpec],
                directory: str | os.PathLike) -> List[str]:
    """Saves each actor as ``<directory>/<agent>.keras``; returns the paths."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    for actor, spec in zip(actors, specs):
        path = os.path.join(directory, f"{spec.name}.keras")
        actor.save(path)
        paths.append(path)
    return paths


def load_actors(specs: Sequence[AgentSpec], directory: str | os.PathLike) -> List[keras.Model]:
    """Loads the actors written by ``save_actors``.

    Raises:
      FileNotFoundError: an agent's file is missing.
      ValueError: a file is not a readable ``.keras`` file (truncated,
        overwritten, or not written by Keras), or an actor's input or output
        size does not match its spec.
    """
    actors = []
    for spec in specs:
        path = os.path.join(directory, f"{spec.name}.keras")
        if not os.path.exists(path):
            raise FileNotFoundError(f"no saved actor for agent {spec.name!r} at {path}")
        if not zipfile.is_zipfile(path):  # Keras would call it "File not found"
            raise ValueError(f"{path} is not a .keras file (a .keras file is a zip archive; "
                             f"this one is {_describe(path)}): it is damaged or was replaced")
        try:
            actor = keras.models.load_model(path, custom_objects=CUSTOM_OBJECTS)
        except Exception as error:  # noqa: BLE001 - whatever Keras trips on, the file is unusable
            reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise ValueError(f"{path} could not be loaded as a Keras model ({reason}): it is "
                             "damaged or was not written by save_actors") from None
        sizes = io_sizes(actor)
        if sizes != (spec.obs_dim, spec.action_dim):
            raise ValueError(
                f"{path}: actor maps {sizes[0]} -> {sizes[1]}, but "
                f"agent {spec.name!r} needs {spec.obs_dim} -> {spec.action_dim}")
        actors.append(actor)
    return actors


def _describe(path: str) -> str:
    size = os.path.getsize(path)
    return "empty" if size == 0 else f"{size} bytes of something else"


def load_run_policy(run_dir: str, info: Optional[RunInfo] = None):
    """The acting policy of the run in ``run_dir`` (``info``: its ``read_run``, read
    here if not given): its algorithm's policy (from the registry) over the actors
    it saved with its last checkpoint.

    Raises:
      RunFolderError: ``run_dir`` holds no run, or a damaged one.
      FileNotFoundError, ValueError: its actors are missing or do not fit its agents.
    """
    info = info or read_run(run_dir)
    actors = load_actors(info.specs, os.path.join(run_dir, ACTORS_DIR))
    return algorithm_of(info.config).make_policy(info.specs, actors, info.config)

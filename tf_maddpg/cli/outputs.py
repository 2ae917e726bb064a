"""The checks of the folders and files a command writes, before anything runs: writable,
and none of a run folder's own files. A failure is a ``BadInput``."""

from __future__ import annotations

import os
from typing import Optional, Sequence

from tf_maddpg.cli.errors import BadInput
from tf_maddpg.inputs import probe_writable


def check_writable_folder(path: str, option: Optional[str], create: bool = True) -> None:
    """Makes sure that ``path`` is, or can become, a folder this process writes to, and is
    none of a run folder's own files (``check_not_a_run_file``). With ``create=False``
    nothing is made: the nearest folder that exists on the way must be writable."""
    name = f"{option} {path}" if option else f"the run folder {path}"
    fix = "give another folder" if option else "choose another with --out DIR"
    if os.path.exists(path) and not os.path.isdir(path):
        raise BadInput(f"{name} is a file, not a folder; {fix}")
    parent = os.path.abspath(path)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise BadInput(f"{name}: {parent} is a file, so no folder can be made there; {fix}")
    check_not_a_run_file(path, name)
    try:
        probe_writable(path if create else parent, create)
    except OSError as error:
        raise BadInput(f"{name}: cannot write there ({error.strerror or error}); {fix}") from None


def check_output_file(path: str, option: str, suffixes: Sequence[str] = ()) -> None:
    """Makes sure that ``path`` can be written as a file (its folder is made if missing)
    and is none of a run folder's own files."""
    if os.path.isdir(path):
        raise BadInput(f"{option} {path} is a folder; give a file name")
    if suffixes and not path.lower().endswith(tuple(suffixes)):
        raise BadInput(f"{option} {path}: give a file name ending in "
                       + (f"{', '.join(suffixes[:-1])} or {suffixes[-1]}" if len(suffixes) > 1
                          else suffixes[0]))
    check_not_a_run_file(path, f"{option} {path}")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise BadInput(f"{option} {path}: {folder} is a file, not a folder")
    try:
        probe_writable(folder, create=True)
    except OSError as error:
        raise BadInput(f"{option} {path}: cannot write there "
                       f"({error.strerror or error})") from None


def check_not_a_run_file(path: str, name: str) -> None:
    """Refuses an output path among a run folder's own files (RUN/metrics.csv,
    RUN/checkpoints/..., RUN/actors/...): no command's output overwrites a run's file.
    A new name in a run folder (RUN/adv.gif, RUN/exported) is fine."""
    from tf_maddpg.runs.folder import LOCK_FILE, RUN_CONTENTS, looks_like_run

    target = os.path.abspath(path)
    above = os.path.dirname(target)
    while True:
        if looks_like_run(above):
            entry = os.path.relpath(target, above).split(os.sep)[0]
            if entry in RUN_CONTENTS + (LOCK_FILE,):
                raise BadInput(f"{name} is in the run folder {above}, where it would "
                               f"overwrite the run's own {entry}; give a path outside the "
                               "run's files")
        if os.path.dirname(above) == above:
            return
        above = os.path.dirname(above)



"""Writing a run's files so that a kill at any moment leaves the old file or the new
one, never a torn one: write under a temporary name beside it, then rename."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from typing import Iterator

_WRITE_ERRORS = tuple(os.strerror(code) for code in (
    errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EIO))


@contextlib.contextmanager
def replacing(path: str) -> Iterator[str]:
    """Yields a temporary path to write; on success it replaces ``path`` in one rename.

    The temporary name keeps ``path``'s extension (Keras and matplotlib read
    it). On failure the temporary file or folder is removed and ``path`` is
    left as it was.
    """
    root, extension = os.path.splitext(path)
    temporary = f"{root}.tmp-{os.getpid()}{extension}"
    try:
        yield temporary
        if os.path.isdir(temporary):
            _replace_dir(temporary, path)
        else:
            os.replace(temporary, path)
    except BaseException:
        remove(temporary)
        raise


def _replace_dir(temporary: str, path: str) -> None:
    # A folder cannot be renamed over a non-empty one: move the old one aside first.
    # Killed between the two renames, the old folder survives as "<path>.old".
    old = path + ".old"
    remove(old)
    if os.path.exists(path):
        os.replace(path, old)
    os.replace(temporary, path)
    remove(old)


@contextlib.contextmanager
def replacing_files_in(directory: str) -> Iterator[str]:
    """Yields a temporary folder to write files into; on success each file replaces its
    namesake in ``directory`` in one rename, so that every file there is always whole."""
    temporary = f"{directory.rstrip(os.sep)}.tmp-{os.getpid()}"
    remove(temporary)
    os.makedirs(temporary)
    try:
        yield temporary
        os.makedirs(directory, exist_ok=True)
        for name in sorted(os.listdir(temporary)):
            os.replace(os.path.join(temporary, name), os.path.join(directory, name))
    finally:
        remove(temporary)


def remove(path: str) -> None:
    """Removes a file or a folder if it exists."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


def write_failure(error: BaseException) -> str:
    """Why a write failed, in a few words: an ``OSError``'s reason (``No space left on
    device``), or the same reason found in a library's message about it (TensorFlow's
    ``ResourceExhaustedError`` names its op and temporary file first), else its first line."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error).strip()
    for reason in _WRITE_ERRORS:
        if reason.lower() in text.lower():
            return reason
    return text.splitlines()[0] if text else type(error).__name__

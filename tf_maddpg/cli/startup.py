"""The command's standard streams: ``sturdy_output``, under which a closed stream or a
broken pipe never stops a command (the process's other set-up, TensorFlow and BLAS
threads, is in ``tf_maddpg.runtime``)."""

from __future__ import annotations

import contextlib
import os
import sys


class _SturdyStream:
    """A standard stream whose failures do not stop the command: once its reader is gone
    (a closed pipe, as under ``| head -1``) what follows goes to /dev/null."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except (OSError, ValueError):
            self._drop()
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except (OSError, ValueError):
            self._drop()

    def _drop(self):
        null = open(os.devnull, "w")
        with contextlib.suppress(OSError, ValueError, AttributeError):
            # The stream's own buffer is flushed at exit: to /dev/null, not to the broken pipe.
            os.dup2(null.fileno(), self._stream.fileno())
        self._stream = null

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _open_missing_descriptors() -> None:
    """A closed standard output or error (``>&-``, a daemon) becomes /dev/null, so that
    the descriptor is not handed to the next file opened, which would then get the
    output."""
    for fd in (1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_WRONLY)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


@contextlib.contextmanager
def sturdy_output():
    """Standard output and error that never stop the command: closed, they are /dev/null;
    a broken pipe discards the rest of the output instead of raising (a run goes on)."""
    saved = sys.stdout, sys.stderr
    _open_missing_descriptors()
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name)
        if stream is None:  # Python found the descriptor closed at startup
            stream = open(fd, "w", buffering=1, closefd=False)
        if not isinstance(stream, _SturdyStream):
            setattr(sys, name, _SturdyStream(stream))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved

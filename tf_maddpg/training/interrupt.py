"""Ctrl-C during training: the first press asks the loop to stop at the next
round's end (after a checkpoint); a second press stops at once."""

from __future__ import annotations

import signal
import threading


class StopOnCtrlC:
    """A context that turns the first Ctrl-C into ``requested = True``.

    Only the main thread can handle signals; elsewhere Ctrl-C raises as usual.

    Args:
      say: prints a message for the user.
    """

    def __init__(self, say):
        self.say = say
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.say("Ctrl-C: finishing this episode, then saving a checkpoint "
                 "(press Ctrl-C again to stop at once)")

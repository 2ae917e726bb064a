"""Ctrl-C and SIGTERM during training: the first one asks the loop to stop at the next
round's end (after a checkpoint); a second one stops at once (``tf_maddpg.signals``)."""

from __future__ import annotations

import signal
import threading

from tf_maddpg.signals import SIGNAL_NAMES, Terminated


class StopOnCtrlC:
    """A context that turns the first Ctrl-C or SIGTERM into ``requested = True``.

    Only the main thread can handle signals; elsewhere Ctrl-C raises as usual.
    A second signal raises at once: ``KeyboardInterrupt`` for Ctrl-C,
    ``Terminated`` for SIGTERM.

    Args:
      say: prints a message for the user.

    Attributes:
      requested: a stop was asked for.
      signal_name: what asked for it, ``"Ctrl-C"`` or ``"SIGTERM"`` (``""`` before).
    """

    def __init__(self, say):
        self.say = say
        self.requested = False
        self.signal_name = ""
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNAL_NAMES:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}

    def _handle(self, signum, frame):
        name = SIGNAL_NAMES.get(signum, "Ctrl-C")
        if self.requested:
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        self.requested = True
        self.signal_name = name
        again = "press Ctrl-C again" if name == "Ctrl-C" else "a second SIGTERM stops"
        self.say(f"{name}: finishing this episode, then saving a checkpoint ({again} to stop "
                 "at once)" if name == "Ctrl-C" else
                 f"{name}: finishing this episode, then saving a checkpoint ({again} at once)")

"""The signals that stop a command: Ctrl-C (SIGINT) and SIGTERM (a timeout, ``docker
stop``, a Slurm job at its time limit), which is handled as Ctrl-C. Outside a training
loop SIGTERM raises ``Terminated``, a ``KeyboardInterrupt``, so that whatever cleans up
after Ctrl-C cleans up after it too. Standard library only: the command line installs
this before anything loads."""

from __future__ import annotations

import signal
import threading

SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}
EXIT_STATUS = {"Ctrl-C": 130, "SIGTERM": 143}
"""The exit status of a command stopped by each: 128 + the signal's number."""


class Terminated(KeyboardInterrupt):
    """The process got SIGTERM (raised where Ctrl-C raises ``KeyboardInterrupt``)."""


def stop_name(error: BaseException) -> str:
    """``"SIGTERM"`` for ``Terminated``, ``"Ctrl-C"`` for another ``KeyboardInterrupt``."""
    return "SIGTERM" if isinstance(error, Terminated) else "Ctrl-C"


def _raise_terminated(signum, frame):
    raise Terminated()


def terminate_as_interrupt():
    """Makes SIGTERM raise ``Terminated`` in the main thread; returns the previous handler
    (None where signals cannot be handled: outside the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


def forget_interrupt():
    """Tells CPython that the ``KeyboardInterrupt`` just caught was handled.

    CPython (3.11, 3.12) marks a KeyboardInterrupt that passes through a string ``exec``
    (dataclasses and namedtuples make their methods that way, so a Ctrl-C while a module
    loads often does) as unhandled even when it is caught, and ``python -m tf_maddpg``
    then ends by SIGINT (status -2) instead of with the status the command returned. A
    string ``exec`` that ends normally clears the mark."""
    exec("", {})

"""What starting a sweep on Ray can fail with, in a module of its own: ``run.py`` and
the command line catch them without importing Ray, and ``tune.py`` (which imports
Ray) raises them without importing ``run.py``."""


class RayMissing(ImportError):
    """Ray Tune is not installed; the message names the command that installs it."""


class RayConnectError(RuntimeError):
    """Ray could not start, or its cluster could not be reached (one line: why)."""

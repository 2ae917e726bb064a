"""The command line's option types: argparse ``type=`` functions that turn a
command-line word into a value or refuse it with one line that says what was
expected (``tf-maddpg train`` and ``tf-maddpg sweep`` share them)."""

from __future__ import annotations

import argparse
import ast
import math
from typing import Optional

from tf_maddpg.config import MAX_SEED


def env_arg(text: str) -> tuple:
    """KEY=VALUE -> (key, value): a Python literal, true/false, or else the text itself."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. N=4), not {text!r}")
    if value in ("true", "false"):
        return key.strip(), value == "true"
    try:
        return key.strip(), ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return key.strip(), value


def boolean(text: str) -> bool:
    """true/false, 1/0 or yes/no."""
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def optional_float(text: str) -> Optional[float]:
    """A number, or none/null/off for None."""
    return None if text.lower() in ("none", "null", "off") else float(text)


def integer(text: str) -> int:
    """An integer, also written as 1e6 or 100_000."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value.is_integer()):
        raise argparse.ArgumentTypeError(f"expected an integer, not {text!r}")
    return int(value)


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, not {text}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number > 0, not {text!r}")
    return value


def seed(text: str) -> int:
    """A seed: an integer from 0 to MAX_SEED."""
    value = integer(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"a seed is an integer from 0 to {MAX_SEED}, "
                                         f"not {text}")
    return value

"""What the command line and sweep files share in reading a user's input: a YAML or
JSON file read with one line for each way it can fail (``InputError``), the "did you
mean" hint for a mistyped name, values shown as a user types them, and the probe of
a folder this process must write to. The command line and ``tf-maddpg sweep`` name
where the input came from (``--config FILE``, a sweep file); the rest of each
message is the same words."""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from typing import Iterable, Optional


class InputError(ValueError):
    """A user's file, name or folder that cannot be used; the message is one line."""


def show_value(value) -> str:
    """A value as a user writes it on the command line or in YAML: ``true``, ``none``,
    ``"text"``, ``0.5``; a tuple as its items separated by spaces."""
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, str) else str(value)


def closest(given, known: Iterable, cutoff: float = 0.6) -> Optional[str]:
    """The name of ``known`` closest to ``given`` (difflib's ratio at least ``cutoff``),
    or None."""
    close = difflib.get_close_matches(str(given), [str(k) for k in known], n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(given, known: Iterable) -> str:
    """`` (did you mean X?)`` for the closest of ``known`` to ``given``, or nothing."""
    close = closest(given, known)
    return f" (did you mean {close}?)" if close else ""


def read_yaml_or_json(path: str, label: str, example: str = ""):
    """The content of the YAML or JSON file at ``path`` (YAML is a superset of JSON: one
    parser reads both); None for an empty file.

    Args:
      label: how messages name the file (``--config FILE``, or the sweep file's path).
      example: a file that would do, named to a user who gave one that is not text.

    Raises:
      InputError: the file cannot be read, is not text, or is not valid YAML or JSON.
    """
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except OSError as error:
        raise InputError(f"cannot read {label}: {error.strerror}") from None
    except (UnicodeDecodeError, yaml.reader.ReaderError):
        raise InputError(f"{label} is not a text file; it must be YAML or JSON"
                         + (f" ({example})" if example else "")) from None
    except yaml.YAMLError as error:
        raise InputError(f"{label} is not valid YAML or JSON: {' '.join(str(error).split())}") \
            from None


def probe_writable(folder: str, create: bool) -> None:
    """Writes and removes a temporary file in ``folder`` (made first with ``create``).

    Raises:
      OSError: the folder cannot be made or written to.
    """
    if create:
        os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder):
        pass

"""The command line's words: config fields as options (``buffer_size`` ->
``--buffer-size``), values as they are typed, and library errors in one line."""

from __future__ import annotations

import dataclasses
import json
import re

from tf_maddpg.algorithms.registry import ALGORITHMS

_ALIASES = {"num_episodes": ["--episodes"]}
_ALL_FIELDS = {f.name for a in ALGORITHMS.values() for f in dataclasses.fields(a.config_class)}


def _flag(field: str) -> str:
    """A config field's command-line option: ``num_episodes`` -> ``--episodes``."""
    return _ALIASES.get(field, ["--" + field.replace("_", "-")])[0]


def _cli_words(message: str) -> str:
    """A library message in command-line words: ``resume=True`` -> ``--resume``, and
    config field names (``buffer_size``) -> their options (``--buffer-size``)."""
    message = message.replace(" (resume=True)", "").replace("resume=True", "--resume")
    message = message.replace("overwrite=True", "--overwrite")
    names = sorted((f for f in _ALL_FIELDS if "_" in f), key=len, reverse=True)
    return re.sub(r"(?<![\w./-])(" + "|".join(map(re.escape, names)) + r")(?![\w/])",
                  lambda m: _flag(m.group(1)), message)


def _show(value) -> str:
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, str) else str(value)


def _show_options(env_kwargs: dict) -> str:
    return "{" + ", ".join(f"{k}={_show(v)}" for k, v in env_kwargs.items()) + "}"


def _options_text(env_kwargs: dict) -> str:
    return f" ({', '.join(f'{k}={_show(v)}' for k, v in env_kwargs.items())})" if env_kwargs else ""


def _describe_specs(specs) -> str:
    return ", ".join(f"{s.name} (obs {s.obs_dim}, {'Discrete' if s.discrete else 'Box'} "
                     f"{s.action_dim})" for s in specs)


def _plain(text: str) -> str:
    """Help text without reStructuredText's double backticks."""
    return text.replace("``", "")


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split()).rstrip(".")
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _worker_message(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else text
    return f"an environment worker process failed: {last}"

"""The command line's words: config fields as options (``buffer_size`` ->
``--buffer-size``), values as they are typed, and library errors in one line."""

from __future__ import annotations

import dataclasses
import re

from tf_maddpg.algorithms.registry import ALGORITHMS
from tf_maddpg.config import FIELD_ALIASES
from tf_maddpg.inputs import show_value

FLAG_ALIASES = {field: ["--" + alias.replace("_", "-")]
                for alias, field in FIELD_ALIASES.items()}
"""Config fields whose option is not their name with dashes (``FIELD_ALIASES``)."""
ALL_FIELDS = {f.name for a in ALGORITHMS.values() for f in dataclasses.fields(a.config_class)}
"""Every field of every algorithm's config: the options of ``train``."""


def flag_of(field: str) -> str:
    """A config field's command-line option: ``num_episodes`` -> ``--episodes``."""
    return FLAG_ALIASES.get(field, ["--" + field.replace("_", "-")])[0]


def cli_words(message: str) -> str:
    """A library message in command-line words: ``resume=True`` -> ``--resume``, and
    config field names (``buffer_size``) -> their options (``--buffer-size``)."""
    message = message.replace(" (resume=True)", "").replace("resume=True", "--resume")
    message = message.replace("overwrite=True", "--overwrite")
    names = sorted((f for f in ALL_FIELDS if "_" in f), key=len, reverse=True)
    return re.sub(r"(?<![\w./-])(" + "|".join(map(re.escape, names)) + r")(?![\w/])",
                  lambda m: flag_of(m.group(1)), message)


def show_options(env_kwargs: dict) -> str:
    """Scenario options as typed, in braces: ``{N=4, local_ratio=0.5}``."""
    return "{" + ", ".join(f"{k}={show_value(v)}" for k, v in env_kwargs.items()) + "}"


def options_text(env_kwargs: dict) -> str:
    """Scenario options as typed, in parentheses after a space; nothing for none."""
    return f" ({', '.join(f'{k}={show_value(v)}' for k, v in env_kwargs.items())})" if env_kwargs else ""


def describe_specs(specs) -> str:
    """The agents in one line: ``agent_0 (obs 18, Discrete 5), ...``."""
    return ", ".join(f"{s.name} (obs {s.obs_dim}, {'Discrete' if s.discrete else 'Box'} "
                     f"{s.action_dim})" for s in specs)


def plain(text: str) -> str:
    """Help text without reStructuredText's double backticks."""
    return text.replace("``", "")


def reason_of(error: BaseException) -> str:
    """An exception in one line with its type: ``OSError: No space left on device``."""
    text = " ".join(str(error).split()).rstrip(".")
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (its type where it has none)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def worker_message(text: str) -> str:
    """An environment worker's traceback as one line: its last line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else text
    return f"an environment worker process failed: {last}"

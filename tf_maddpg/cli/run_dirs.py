"""Reading a run folder (RUN_DIR) for ``train --resume``, ``evaluate`` and ``export``:
its episode, its run.json and config.json, its scenario and its policy. A failure is
a ``CommandError`` whose message says what to do."""

from __future__ import annotations

import os

from tf_maddpg.cli.configs import check_scenario
from tf_maddpg.cli.errors import CommandError
from tf_maddpg.cli.messages import cli_words, describe_specs, reason_of, show_options


def read_run_dir(run_dir: str, need_scenario: bool = True):
    """The ``RunInfo`` of ``run_dir``; with ``need_scenario``, of an mpe2 scenario."""
    from tf_maddpg.runs.folder import RunFolderError, read_run

    try:
        info = read_run(run_dir)
    except RunFolderError as error:
        raise CommandError(cli_words(str(error))) from None
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise CommandError(f"{run_dir} holds a damaged run.json or config.json "
                           f"({reason_of(error)})") from None
    if need_scenario and info.scenario is None:
        raise CommandError(f"{run_dir} was trained on an environment given in Python; "
                           "the command line knows mpe2 scenarios only")
    return info


def check_run_scenario(run_dir: str, info, episode_length: int) -> None:
    """The run's scenario and options (run.json) still give the agents its actors were
    trained for; CommandError if run.json was edited."""
    from tf_maddpg.envs.mpe import known_scenarios

    where = os.path.join(run_dir, "run.json")
    if info.scenario not in known_scenarios():
        raise CommandError(f"{where} names the scenario {info.scenario!r}, which mpe2 does not "
                           "have; was run.json edited? Put back the scenario the run was "
                           "trained on")
    try:
        specs = check_scenario(info.scenario, info.env_kwargs, episode_length)
    except (ValueError, TypeError) as error:
        raise CommandError(f"{where}: {info.scenario} cannot run with the options "
                           f"{show_options(info.env_kwargs)} ({error}); was run.json edited? "
                           "Put back the options the run was trained with") from None
    if specs != list(info.specs):
        raise CommandError(
            f"{where}: {info.scenario} with options {show_options(info.env_kwargs)} has "
            f"agents {describe_specs(specs)}, but the run's actors were trained for "
            f"{describe_specs(info.specs)}; was run.json edited? Put back the scenario and "
            "options the run was trained with")


def load_run_dir_policy(run_dir: str, info):
    """The run's acting policy (``runs.actors.load_run_policy``)."""
    from tf_maddpg.runs.actors import load_run_policy

    try:
        return load_run_policy(run_dir, info)
    except (FileNotFoundError, ValueError) as error:
        raise CommandError(f"{error} (actors are saved with every checkpoint)") from None
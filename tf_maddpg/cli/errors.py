"""The command's two errors: ``CommandError``, a run cannot be done (exit status
1), and ``BadInput``, the command line asks for something impossible (status 2)."""


class CommandError(Exception):
    """A run could not be done; the message says why and what to do (exit status 1)."""

    exit_status = 1


class BadInput(CommandError):
    """The command line asks for something that cannot be done: an option's value, or a
    file or folder it names (exit status 2; the message says what to change)."""

    exit_status = 2

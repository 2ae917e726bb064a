"""``tf-maddpg`` in a process that stops in the middle of writing a run's file, for a test
to SIGKILL it there (tests/test_data_loss.py).

    python tests/paused_train.py NAME:K train ARGS...   # stops at the K-th write of NAME
    python tests/paused_train.py - train ARGS...        # plain ``tf-maddpg train ARGS...``

Every file a run keeps is written under a temporary name and then renamed into place
(``tf_maddpg.runs.atomic``). This process runs the command line as ``tf-maddpg`` does,
except that the K-th rename onto a file or folder called NAME (``metrics.csv``,
``agent_1.keras``, ``saved_model``, the checkpoint index ``checkpoint``...) does not
happen: the new version is written under its temporary name, the old one is still in
place, and the process prints ``paused: SRC -> DST`` on stdout and waits to be killed.
Only this process is changed (``os.replace`` is wrapped here, and TensorFlow's
``file_io.rename`` for ``checkpoint``); the library is not. Not collected by pytest.
"""

import os
import sys
import time


def pause_at(name: str, count: int) -> None:
    """Makes the ``count``-th rename onto a path called ``name`` stop forever: renames by
    ``os.replace`` (the run's files) and, for ``checkpoint`` (the checkpoint index, which
    TensorFlow writes the same way), by TensorFlow's ``file_io.rename``."""
    seen = 0

    def stop_at_the_count(src, dst):
        nonlocal seen
        if os.path.basename(os.fspath(dst).rstrip(os.sep)) == name:
            seen += 1
            if seen == count:
                print(f"paused: {os.fspath(src)} -> {os.fspath(dst)}", flush=True)
                while True:
                    time.sleep(60)

    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        stop_at_the_count(src, dst)
        return real_replace(src, dst, *args, **kwargs)

    os.replace = replace
    if name == "checkpoint":
        from tensorflow.python.lib.io import file_io

        real_rename = file_io.rename

        def rename(oldname, newname, overwrite=False):
            stop_at_the_count(oldname, newname)
            return real_rename(oldname, newname, overwrite)

        file_io.rename = rename


if __name__ == "__main__":
    where, argv = sys.argv[1], sys.argv[2:]
    if where != "-":
        name, count = where.rsplit(":", 1)
        pause_at(name, int(count))
    from tf_maddpg.cli import main

    sys.exit(main(argv))

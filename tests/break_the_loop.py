"""Runs tests/test_loop.py against a deliberately broken training loop.

    python tests/break_the_loop.py none                       # the loop as it is
    python tests/break_the_loop.py next_obs_is_obs            # stores obs where next_obs belongs
    python tests/break_the_loop.py truncation_as_termination  # stores truncated as terminated
    python tests/break_the_loop.py no_weight_handover         # the acting policy never gets
                                                              # the learned weights

Run from the repository root. Each breakage edits one line of the library's source in this process only,
then runs pytest; every breakage must make at least one test fail, and
``none`` must pass. Not collected by pytest.
"""

import inspect
import sys

import pytest

from tf_maddpg.training import off_policy, updater

BREAKAGES = {
    "none": None,
    "next_obs_is_obs": (off_policy, "next_obs=step.obs", "next_obs=obs"),
    "truncation_as_termination": (off_policy, "terminated=step.terminated",
                                  "terminated=step.terminated | step.truncated"),
    "no_weight_handover": (updater, "            self.policy.sync()\n", "            pass\n"),
}


def break_module(module, old: str, new: str) -> None:
    """Re-executes ``module``'s source with ``old`` replaced by ``new``, in place."""
    source = inspect.getsource(module)
    if source.count(old) != 1:
        raise SystemExit(f"{module.__name__}: expected {old!r} once, found {source.count(old)}")
    exec(compile(source.replace(old, new), module.__file__, "exec"), module.__dict__)


def main(kind: str) -> int:
    if BREAKAGES[kind] is not None:
        break_module(*BREAKAGES[kind])
        from tf_maddpg.training import api  # the loop table holds the function: refresh it

        api.LOOPS["off_policy"] = (off_policy.make_storage, off_policy.train_off_policy)
    status = pytest.main(["-q", "-p", "no:cacheprovider", "tests/test_loop.py"])
    print(f"{kind}: tests/test_loop.py {'passes' if status == 0 else 'fails'}")
    return 0 if (status == 0) == (kind == "none") else 1


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in BREAKAGES:
        sys.exit(f"usage: python tests/break_the_loop.py {{{'|'.join(BREAKAGES)}}}")
    sys.exit(main(sys.argv[1]))

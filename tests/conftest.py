"""What the tests share: one thread per process, ``small_disk`` (a full disk), and the
catalogue's count.

Every test marked ``case("clear")`` (a bad input or a fault that must give one clear
line) or ``case("sensible")`` (one that must do what a user expects) is one case of
tests/test_catalogue.py's catalogue, and the run ends with their count by outcome; the
default run of 2026-12-06 (cases marked extended are left out of it):

    catalogue: 87 cases: 0 lost, 0 tracebacks, 0 silent, 0 unclear, 80 one clear line,
    7 handled sensibly

The count is made where the reports arrive: in the one process of a plain run, in the
controller of pytest-xdist's workers (the default run has two), from each report's
``user_properties``.

A failing case counts as what its assertion says it is: the catalogue's checks begin
their messages with ``lost:``, ``traceback:`` or ``silent:``; any other failure is
``unclear``."""

import os
import re
import subprocess

import pytest

from tf_maddpg.runtime import limit_blas_threads

# One thread each for TensorFlow and BLAS, in this process and in the processes the
# tests start: the default run has a pytest-xdist worker per core, and threads that
# spin while they wait for a core another worker holds cost CPU time that no test
# uses (the default run took 14.9 minutes instead of 17.0). TensorFlow reads these
# variables when it starts; a value already in the environment stays.
for _name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ.setdefault(_name, "1")
limit_blas_threads(1)


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs, to fill up: a full disk (skipped where it cannot be mounted)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4M", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


OUTCOMES = {"clear": "one clear line", "sensible": "handled sensibly"}
FAILURES = ("lost", "traceback", "silent")

_results = {}


def pytest_configure(config):
    config.addinivalue_line("markers", "case(kind): a case of the catalogue of bad input "
                                       "and faults: kind 'clear' or 'sensible'")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    marker = item.get_closest_marker("case")
    if marker is not None:
        # Carried to the controller by pytest-xdist, where the count is made.
        report.user_properties.append(("case", marker.args[0]))
    return report


def pytest_runtest_logreport(report):
    kind = dict(report.user_properties).get("case")
    if kind is None or report.when not in ("setup", "call"):
        return
    if report.failed:
        text = report.longreprtext
        found = re.search(r"AssertionError: (lost|traceback|silent):", text)
        _results[report.nodeid] = found.group(1) if found else (
            "traceback" if "Traceback (most recent call last)" in text else "unclear")
    elif report.when == "call" and report.passed:
        _results.setdefault(report.nodeid, OUTCOMES[kind])


def pytest_terminal_summary(terminalreporter):
    if not _results:
        return
    counts = {name: 0 for name in FAILURES + ("unclear",) + tuple(OUTCOMES.values())}
    for outcome in _results.values():
        counts[outcome] += 1
    terminalreporter.write_line(
        f"catalogue: {len(_results)} cases: {counts['lost']} lost, {counts['traceback']} "
        f"tracebacks, {counts['silent']} silent, {counts['unclear']} unclear, "
        f"{counts['one clear line']} one clear line, {counts['handled sensibly']} handled "
        "sensibly")

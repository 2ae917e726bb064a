"""The sweep on Ray Tune: each trial a Tune trial that runs ``run_trial`` and reports
every evaluation as it happens; grids, search spaces (Tune's sample functions),
ASHA, resources per trial, a local Ray or a cluster, and resuming.

Tune keeps its own state in DIR/.tune (the experiment, each trial's results);
the runs are the run folders under DIR. ``--resume`` restores Tune's
experiment when it can (finished and early-stopped trials stay done, the
others run again); otherwise it runs the same sweep again, with the same
search seed, so the same trials. Either way a trial whose run folder has
finished is skipped and one that stopped resumes from its checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from typing import List, Optional, Tuple

import ray
from ray import tune

from tf_maddpg.sweep.errors import RayConnectError
from tf_maddpg.sweep.spec import Space, SweepSpec, parse_spec
from tf_maddpg.sweep.trial import (FAILED, TrialRecord, error_line, read_records, record_of,
                                   run_trial, write_records)

TUNE_DIR = ".tune"
"""Ray Tune's experiment folder, inside the sweep folder."""


@contextlib.contextmanager
def ray_session(address: Optional[str] = None):
    """Ray for a sweep: the caller's if ``ray.init`` was called already, else a
    cluster's (``address``: ``auto``, ``HOST:6379``, ``ray://HOST:10001``) or, without
    an address, Ray started in this process on this machine's CPUs and GPUs; shut down
    at the end when started here.

    Raises:
      RayConnectError: Ray could not start, or the cluster could not be reached.
    """
    if address is not None:
        check_reachable(address)
    if ray.is_initialized():
        yield
        return
    options = dict(log_to_driver=False, logging_level=logging.ERROR)
    if address is None:
        options["include_dashboard"] = False
    try:
        ray.init(address=address, **options)
    except Exception as error:  # noqa: BLE001 - Ray raises many kinds; one line says it
        where = f"the Ray cluster at {address}" if address else "Ray on this machine"
        hint = ("; a cluster started by `ray start` asks for its token: export "
                "RAY_AUTH_MODE=token, with the head's ~/.ray/auth_token or RAY_AUTH_TOKEN "
                "(docs/sweeps.md)") if address else ""
        raise RayConnectError(f"cannot reach {where}: {error_line(str(error))}{hint}") \
            from None
    try:
        yield
    finally:
        ray.shutdown()


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fails fast, in one line, when nothing answers at a cluster's ``HOST:PORT`` or
    ``ray://HOST:PORT`` (``ray.init`` would retry for minutes); ``auto`` is Ray's to find.

    Raises:
      RayConnectError: the host's port did not accept a connection within ``timeout_s``.
    """
    import socket

    if address == "auto" or ":" not in address:
        return
    host, _, port = address.split("://")[-1].rpartition(":")
    if not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise RayConnectError(
            f"cannot reach the Ray cluster at {address}: nothing answers at {host}:{port} "
            f"({error.strerror or error or 'timed out'} within {timeout_s:g} s); start it "
            "with `ray start --head` on that machine (its port 6379, or 10001 for "
            "ray://) or check the address (docs/sweeps.md)") from None


def run_tune(spec: SweepSpec, root: str, *, resume: bool = False,
             cpus_per_trial: float = 1, gpus_per_trial: float = 0,
             max_concurrent: Optional[int] = None,
             verbose: bool = True) -> Tuple[List[TrialRecord], bool]:
    """Runs the sweep's trials on Ray Tune (inside ``ray_session``); returns their
    records and whether the sweep was interrupted (Ctrl-C).

    Args:
      spec: the sweep.
      root: the sweep folder (absolute; on a cluster, a folder that every
        machine sees at that path).
      resume: continue the sweep in ``root``.
      cpus_per_trial, gpus_per_trial: Ray resources of each trial; TensorFlow
        gets max(1, int(cpus_per_trial)) threads. Trials run at once as many
        as the resources allow (and at most ``max_concurrent``).
      verbose: print a line when a trial starts, ends or fails.
    """
    threads = max(1, int(cpus_per_trial))
    trainable = tune.with_resources(
        tune.with_parameters(_tune_trial, spec_data=spec.to_dict(), root=root,
                             threads=threads),
        {"cpu": cpus_per_trial, "gpu": gpus_per_trial})
    path = os.path.join(root, TUNE_DIR)
    progress = Progress(spec.to_dict(), root, verbose)
    Progress.session = {"root": root, "verbose": verbose}  # also for a restored one
    if resume and tune.Tuner.can_restore(path):
        tuner = tune.Tuner.restore(path, trainable, resume_unfinished=True,
                                   resume_errored=True)
    else:
        shutil.rmtree(path, ignore_errors=True)  # Tune's bookkeeping, not the runs
        tuner = tune.Tuner(trainable, param_space=param_space(spec),
                           tune_config=_tune_config(spec, max_concurrent),
                           run_config=tune.RunConfig(
                               name=TUNE_DIR, storage_path=root, verbose=0,
                               callbacks=[progress],
                               failure_config=tune.FailureConfig(max_failures=0)))
    interrupted = False
    try:
        with _legacy_output():
            results = tuner.fit()
    except KeyboardInterrupt:
        interrupted, results = True, []
    drawn = {}  # folder -> (trial, error) of every trial Tune made (after Ctrl-C: some)
    for result in results:
        if result.config:
            trial = spec.trial_from_tune(result.config, _trial_id(result.path))
            drawn[spec.folder(trial)] = (trial, error_line(result.error) if result.error else "")
    if spec.sampled and not drawn:  # stopped before Tune returned: what Progress saw
        records = read_records(root)
    elif spec.sampled:
        records = [record_of(spec, root, t, e) for t, e in drawn.values()]
    else:
        records = [record_of(spec, root, t, drawn.get(spec.folder(t), (t, ""))[1])
                   for t in spec.grid()]
    records = _ordered(spec, records)
    write_records(root, records)
    interrupted = interrupted or any(r.status == "unfinished" for r in records)
    return records, interrupted


@contextlib.contextmanager
def _legacy_output():
    """Tune's older console output, which verbose=0 silences whole (the newer one prints
    its experiment's table whatever the verbosity), and Tune's log quiet but for
    critical errors: Progress says what happens, a failure in one line."""
    before = os.environ.get("RAY_AIR_NEW_OUTPUT")
    os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
    tune_logger = logging.getLogger("ray.tune")
    level = tune_logger.level
    tune_logger.setLevel(logging.CRITICAL)  # a failed trial's traceback: Progress says it
    try:
        yield
    finally:
        tune_logger.setLevel(level)
        if before is None:
            os.environ.pop("RAY_AIR_NEW_OUTPUT", None)
        else:
            os.environ["RAY_AIR_NEW_OUTPUT"] = before


def param_space(spec: SweepSpec) -> dict:
    """Tune's param_space: grid_search over the scenarios, algorithms and seeds, and each
    option the sweep varies as its grid_search or sample function."""
    def domain(space: Space):
        args = [list(a) if isinstance(a, tuple) else a for a in space.args]
        if space.kind == "grid":
            return tune.grid_search(args)
        if space.kind == "choice":
            return tune.choice(args)
        return getattr(tune, space.kind)(*args)  # uniform, loguniform, randint

    return {"scenario": tune.grid_search([s.name for s in spec.scenarios]),
            "algorithm": tune.grid_search([a.name for a in spec.algorithms]),
            "seed": tune.grid_search(list(spec.seeds)),
            "options": {k: domain(spec.options[k]) for k in spec.varying}}


def _tune_config(spec: SweepSpec, max_concurrent: Optional[int]):
    from ray.tune.search.basic_variant import BasicVariantGenerator

    scheduler = None
    if spec.scheduler is not None:
        from ray.tune.schedulers import ASHAScheduler

        asha = spec.scheduler
        cells = spec.cells()
        max_t = asha.max_t or max(int(spec.field(t, "num_episodes")) for t in cells)
        grace = asha.grace_period or min(int(spec.field(t, "eval_interval")) for t in cells)
        # stop_last_trials=False: a trial that reaches max_t ends by itself, with its
        # last checkpoint and SavedModels; Tune must not stop it at its last report.
        scheduler = ASHAScheduler(time_attr="episode", metric=asha.metric, mode=asha.mode,
                                  max_t=max_t, grace_period=min(grace, max_t),
                                  reduction_factor=asha.reduction_factor,
                                  stop_last_trials=False)
    # The limit goes to the generator itself: Tune ignores max_concurrent_trials
    # (with a warning in its log) when it is handed a BasicVariantGenerator.
    return tune.TuneConfig(num_samples=spec.num_samples, scheduler=scheduler,
                           search_alg=BasicVariantGenerator(random_state=spec.search_seed,
                                                            max_concurrent=max_concurrent or 0),
                           trial_dirname_creator=_trial_dirname)


def _tune_trial(config, spec_data=None, root=None, threads=None):
    """A Tune trial (in a Ray worker): the sweep's trial of this config."""
    spec = parse_spec(spec_data)
    trial = spec.trial_from_tune(config, tune.get_context().get_trial_id())
    run_trial(spec, root, trial, report=tune.report, threads=threads)


def _trial_error(trial) -> str:
    """A failed trial's error line, from the file Tune wrote in the trial's folder."""
    try:
        with open(trial.error_file) as f:
            return error_line(f.read())
    except (OSError, TypeError):
        return error_line(trial.get_error() or "failed (no error was recorded)")


def _trial_dirname(trial) -> str:
    return f"trial_{trial.trial_id}"


def _trial_id(path: str) -> str:
    return os.path.basename(os.path.normpath(path))[len("trial_"):]


def _ordered(spec: SweepSpec, records: List[TrialRecord]) -> List[TrialRecord]:
    if spec.sampled:
        return sorted(records, key=lambda r: r.folder)
    order = {spec.folder(t): k for k, t in enumerate(spec.grid())}
    return sorted(records, key=lambda r: order.get(r.folder, len(order)))


class Progress(tune.Callback):
    """A line when a trial starts, ends or fails, and sweep.json kept up to date. Plain
    data, so that Tune can keep it with its experiment (tuner.pkl); a restored one
    takes the folder and verbosity of the session that restores it (``session``)."""

    session: dict = {}

    def __init__(self, spec_data: dict, root: str, verbose: bool):
        self.spec_data, self._root, self._verbose = spec_data, root, verbose
        self.started = time.time()
        self._spec = None

    @property
    def root(self) -> str:
        return self.session.get("root", self._root)

    @property
    def verbose(self) -> bool:
        return self.session.get("verbose", self._verbose)

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_spec"}

    def __setstate__(self, state):
        self.__dict__.update(state, _spec=None, started=time.time())

    @property
    def spec(self) -> SweepSpec:
        if self._spec is None:
            self._spec = parse_spec(self.spec_data)
        return self._spec

    def say(self, text: str) -> None:
        if self.verbose:
            print(f"[{time.time() - self.started:6.0f} s] {text}", flush=True)

    def _record(self, trial, error: str = "") -> TrialRecord:
        return record_of(self.spec, self.root, self.spec.trial_from_tune(trial.config,
                                                                         trial.trial_id), error)

    def _write(self, trials) -> None:
        records = []
        for trial in trials:
            error = ""
            if trial.status == "ERROR":
                error = _trial_error(trial)
            record = self._record(trial, error)
            if record.status == "unfinished" and trial.status in ("RUNNING", "PENDING"):
                record.status = trial.status.lower()
            records.append(record)
        write_records(self.root, _ordered(self.spec, records))

    def on_trial_start(self, iteration, trials, trial, **info):
        self.say(f"start   {self.spec.folder(self.spec.trial_from_tune(trial.config, trial.trial_id))}")
        self._write(trials)

    def on_trial_complete(self, iteration, trials, trial, **info):
        record = self._record(trial)
        mean = "" if record.mean_return is None else f", mean return {record.mean_return:.2f}"
        skipped = " (it had finished before)" if (trial.last_result or {}).get("skipped") else ""
        self.say(f"{record.status:<7} {record.folder}: episode {record.episode}{mean}{skipped}")
        self._write(trials)

    def on_trial_error(self, iteration, trials, trial, **info):
        error = _trial_error(trial)
        self.say(f"{FAILED:<7} {self._record(trial, error).folder}: {error}")
        self._write(trials)

"""The process's set-up, shared by the command line, sweeps and benchmarks: NumPy's
BLAS threads (``limit_blas_threads``), and TensorFlow kept quiet and unloaded until
it is needed (``quiet_tensorflow`` when a process starts, ``load_tensorflow`` once
its input has been checked). No TensorFlow at import."""

from __future__ import annotations

import contextlib
import glob
import os
import sys
import tempfile

_QUIET = {"on": False}

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""What NumPy's BLAS (OpenBLAS, or MKL) reads for its number of threads when it loads."""


def limit_blas_threads(threads: int) -> None:
    """Gives NumPy's BLAS ``threads`` threads: in this process if NumPy is not loaded
    yet, and in the processes it starts (environment workers, a local sweep's
    trials); a variable of ``BLAS_THREAD_VARIABLES`` that the user set is kept.

    Why: OpenBLAS starts a thread per core, and its threads wait for work by
    spinning. When runs share the cores (``--threads 1``, one run per core), every
    small matrix product of a run then waits for a thread that another run holds:
    two IQL runs side by side on 2 cores trained 6.2 times slower than with one
    BLAS thread each (docs/benchmarks.md, "BLAS threads"); one run alone was not
    slowed.
    """
    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, str(threads))


@contextlib.contextmanager
def one_blas_thread():
    """NumPy's BLAS on one thread while the block runs (``threadpoolctl``); what it had
    before is restored after. The on-policy loop runs in it: its NumPy products (the
    actors on a round's environments, [128 x 64] by [64 x 64]) are too small to gain
    from a second thread, and OpenBLAS's threads spin on the cores after each
    product, the cores that TensorFlow's update needs next."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def set_tensorflow_threads(tf, threads: int) -> bool:
    """Gives TensorFlow's two thread pools ``threads`` threads each; returns whether they
    have them.

    TensorFlow fixes its pools when it first runs an operation. In a process where it
    has run already (a second ``main(["train", ...])`` in one Python session, a Ray
    worker's second trial), the pools stay as they are: True if they were set to
    ``threads`` before, else False (the caller says so; nothing is raised).
    """
    threading = tf.config.threading
    try:
        threading.set_intra_op_parallelism_threads(threads)
        threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # "cannot be modified after initialization"
        return (threading.get_intra_op_parallelism_threads() == threads
                and threading.get_inter_op_parallelism_threads() == threads)
    return True


def quiet_tensorflow(verbose: bool = False) -> None:
    """Hides TensorFlow's startup messages in this process unless the user wants them.

    Call before TensorFlow is imported. The user wants them with
    ``verbose=True`` (``--verbose-tf``) or ``TF_CPP_MIN_LOG_LEVEL`` set to 0
    or 1; otherwise ``TF_CPP_MIN_LOG_LEVEL`` becomes 2 (for this process and
    the worker processes it starts) and ``load_tensorflow`` hides what
    TensorFlow prints while it loads (those lines come before its log level
    is read, and a machine without a GPU adds a ``cuInit`` error).
    """
    level = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    _QUIET["on"] = not verbose and level not in ("0", "1")
    if _QUIET["on"] and level is None:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"


def load_tensorflow():
    """Imports TensorFlow (quietly after ``quiet_tensorflow``) and returns the module.

    While quiet, what TensorFlow writes to the standard error stream as it
    loads and looks for devices is kept aside: it is shown only if the
    import fails. On a machine with an NVIDIA GPU that TensorFlow cannot use,
    one line says so (``--verbose-tf`` shows why).
    """
    if "tensorflow" in sys.modules or not _QUIET["on"]:
        import tensorflow as tf

        return tf
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no standard error stream to quiet
        import tensorflow as tf

        return tf
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        failed = True
        try:
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")  # cuInit and its messages, now
            failed = False
        except KeyboardInterrupt:  # Ctrl-C while loading: the stop is the only line
            failed = False
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                captured.seek(0)
                sys.stderr.write(captured.read().decode(errors="replace"))
    with contextlib.suppress(ImportError):
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    if not gpus and _has_nvidia_device():
        print("tf-maddpg: note: this machine has an NVIDIA GPU but TensorFlow cannot use it "
              "and works on the CPU (--verbose-tf shows TensorFlow's reason)", file=sys.stderr)
    return tf


def _has_nvidia_device() -> bool:
    return os.path.exists("/proc/driver/nvidia/version") or bool(glob.glob("/dev/nvidia[0-9]*"))

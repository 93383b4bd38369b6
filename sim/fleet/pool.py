"""The local process pool that fleets and sweeps run on, and how it stops on Ctrl-C.

The workers ignore SIGINT: a Ctrl-C at the terminal reaches the whole process group, and a
worker interrupted in the middle of a run only prints a traceback and can leave the pool
waiting for it. The main process alone decides: it drops the queued runs and ends the
workers at once (what finished is kept, in a sweep's journal)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait

# How often a wait for runs wakes up: a Ctrl-C is only seen between two waits (a lock
# waited on without a timeout holds it back until the next run ends).
POLL = 0.25


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def local_pool(workers: int | None) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes (default: one per core) that leave Ctrl-C to us."""
    return ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1,
                               initializer=_ignore_sigint)


def stop_now(executor: Executor) -> None:
    """Drop the queued work and end a local pool's workers without waiting for their runs."""
    # ProcessPoolExecutor's own workers, taken before shutdown forgets them (3.14 adds
    # terminate_workers); another executor (Dask's) has none here
    workers = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        process.terminate()
    for process in workers:
        process.join()


def finishing(futures: Iterable[Future]) -> Iterator[Future]:
    """``as_completed``, but awake to Ctrl-C: each future as it finishes."""
    pending = set(futures)
    while pending:
        finished, pending = wait(pending, timeout=POLL, return_when=FIRST_COMPLETED)
        yield from finished


def outcome(future: Future) -> object:
    """``future.result()``, but awake to Ctrl-C."""
    while True:
        try:
            return future.result(timeout=POLL)
        except TimeoutError:
            continue

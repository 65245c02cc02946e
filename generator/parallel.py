"""Work split over the cores by forking: one policy for every stage that uses it.

Forked workers inherit the parent's data without pickling it, which is what makes them pay
off here; the one exception is the build's `helper`, forked before the data exists. Forking
is skipped where it is unavailable, on one core, for small inputs, inside a pool worker
(daemonic processes may not have children), and once `disable()` was called (the live
preview forks from a process running server and watcher threads, where a fork can deadlock).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

MAX_JOBS = 4
_enabled = True


def disable() -> None:
    """Run every later stage in this process, serially."""
    global _enabled
    _enabled = False


def jobs_for(size: int, minimum: int) -> int:
    """Return how many processes to use for `size` items (1 means: stay in this process)."""
    if (
        not _enabled
        or size < minimum
        or multiprocessing.current_process().daemon
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_JOBS, size))


@contextlib.contextmanager
def _pool(processes: int) -> Iterator[Any]:
    """Fork a pool of workers; when the body ends, let them finish and exit.

    `Pool`'s own context manager terminates its workers, and a worker killed while it writes
    a result leaves the result queue locked for good: the pool's shutdown then waits on that
    lock forever (seen when an error ends a parallel ingest early). Closing and joining
    waits for the work already queued instead; an interrupt still terminates at once.
    """
    pool = multiprocessing.get_context("fork").Pool(processes)
    try:
        yield pool
    except KeyboardInterrupt:
        pool.terminate()
        raise
    finally:
        pool.close()  # after `terminate`, these two only check that all has ended
        pool.join()


def starmap(func: Callable[..., Any], calls: Sequence[tuple], jobs: int) -> list[Any]:
    """Apply `func` to each argument tuple, in order, on `jobs` processes.

    This process is one of them, beside `jobs - 1` forked workers. Each process takes the
    next call nobody has taken until none is left, so calls of very different lengths (a
    list page of 10,000 papers beside one of 30) keep every process busy to the end.
    """
    if jobs < 2 or len(calls) < 2:
        return [func(*args) for args in calls]
    taken = multiprocessing.get_context("fork").Value("i", 0)
    _SHARED.update(func=func, calls=calls, taken=taken)  # inherited by the forked workers
    try:
        with _pool(jobs - 1) as pool:
            theirs = [pool.apply_async(_take_calls) for _ in range(jobs - 1)]
            done = _take_calls()
            for part in theirs:
                done.update(part.get())
    finally:
        _SHARED.clear()
    return [done[index] for index in range(len(calls))]


_SHARED: dict[str, Any] = {}  # what `starmap`'s processes share: the calls, the next to take


def _take_calls() -> dict[int, Any]:
    """Run calls from `_SHARED`, each the next not yet taken, until none is left or one fails."""
    func, calls, taken = _SHARED["func"], _SHARED["calls"], _SHARED["taken"]
    done = {}
    while True:
        with taken.get_lock():
            index = taken.value
            taken.value = index + 1
        if index >= len(calls):
            return done
        try:
            done[index] = func(*calls[index])
        except BaseException:
            with taken.get_lock():  # leave the others nothing more to take
                taken.value = len(calls)
            raise


def imap_chunked(
    func: Callable[[Any], Any], items: Sequence[Any], jobs: int, chunk: int
) -> Iterator[Any]:
    """Yield `func` of every item, in order, as `jobs` forked processes finish them."""
    if jobs < 2:
        yield from map(func, items)
        return
    with _pool(jobs) as pool:
        yield from pool.imap(func, items, chunksize=chunk)


class Helper:
    """One worker process, forked early, that runs the tasks it is given in order.

    Tasks, their arguments and results are pickled: the worker was forked before the data
    existed. Without a worker (forking off) each task runs at once, in-line.
    """

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    @property
    def forked(self) -> bool:
        """Tell whether tasks run in a worker process (else each runs at once, in-line)."""
        return self._pool is not None

    def submit(self, task: Callable[..., Any], *args: Any) -> Callable[[], Any]:
        """Queue `task(*args)` for the worker; return the function that waits for its result."""
        if self._pool is None:
            result = task(*args)
            return lambda: result
        return self._pool.apply_async(task, args).get


@contextlib.contextmanager
def helper() -> Iterator[Helper]:
    """Fork one helper process now, while this one is small; stop it when the body ends."""
    if jobs_for(2, 2) < 2:
        yield Helper(None)
        return
    with _pool(1) as pool:
        yield Helper(pool)


def ranges(count: int, parts: int) -> list[tuple[int, int]]:
    """Split `range(count)` into about `parts` contiguous (start, stop) slices."""
    step = max(1, -(-count // max(parts, 1)))
    return [(i, min(i + step, count)) for i in range(0, count, step)]

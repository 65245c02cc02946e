"""Work split over the cores by forking: one policy for every stage that uses it.

Forked workers inherit the parent's data without pickling it, which is what makes them pay
off here; the one exception is the build's `helper`, forked before the data exists. Forking
is skipped where it is unavailable, on one core, for small inputs, inside a pool worker
(daemonic processes may not have children) or the helper, and once `disable()` was called
(the live preview forks from a process running server and watcher threads, where a fork can
deadlock).

The helper is a bare `os.fork` with two pipes, not a `multiprocessing` pool: a cold build of a
small survey forks nothing else, and importing and starting a pool (about 15 ms, most of it
importing `multiprocessing` and `socket`) came before the second core had anything to do.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .fsutil import write_all

MAX_JOBS = 4
_enabled = True


def disable() -> None:
    """Run every later stage in this process, serially."""
    global _enabled
    _enabled = False


def jobs_for(size: int, minimum: int) -> int:
    """Return how many processes to use for `size` items (1 means: stay in this process)."""
    if not _enabled or size < minimum or not hasattr(os, "fork") or _in_pool_worker():
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_JOBS, size))


def _in_pool_worker() -> bool:
    """Tell whether this is a daemonic pool worker (which may not have children)."""
    loaded = sys.modules.get("multiprocessing")  # not imported: no pool forked this process
    return loaded is not None and loaded.current_process().daemon


@contextlib.contextmanager
def _pool(processes: int) -> Iterator[Any]:
    """Fork a pool of workers; when the body ends, let them finish and exit.

    `Pool`'s own context manager terminates its workers, and a worker killed while it writes
    a result leaves the result queue locked for good: the pool's shutdown then waits on that
    lock forever (seen when an error ends a parallel ingest early). Closing and joining
    waits for the work already queued instead; an interrupt still terminates at once.
    """
    import multiprocessing

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
    import multiprocessing

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

    def __init__(self, worker: _Worker | None) -> None:
        self._worker = worker

    @property
    def forked(self) -> bool:
        """Tell whether tasks run in a worker process (else each runs at once, in-line)."""
        return self._worker is not None

    def submit(self, task: Callable[..., Any], *args: Any) -> Callable[[], Any]:
        """Queue `task(*args)` for the worker; return the function that waits for its result."""
        if self._worker is None:
            result = task(*args)
            return lambda: result
        return self._worker.submit(task, args)


@contextlib.contextmanager
def helper() -> Iterator[Helper]:
    """Fork one helper process now, while this one is small; stop it when the body ends.

    When the body ends normally the worker finishes the tasks queued and exits; when it
    raises, the worker is killed (its tasks' results are not wanted).
    """
    if jobs_for(2, 2) < 2:
        yield Helper(None)
        return
    worker = _Worker()
    try:
        yield Helper(worker)
    except BaseException:
        worker.kill()
        raise
    finally:
        worker.close()


class HelperError(Exception):
    """The helper process ended before it returned a result."""


class _RemoteTraceback(Exception):
    """The traceback of an error raised in the helper process (shown as the error's cause)."""

    def __str__(self) -> str:
        return "\n" + str(self.args[0])


_LENGTH = struct.Struct("!Q")


class _Worker:
    """A forked process that runs pickled tasks from one pipe and answers on another.

    A thread here writes the tasks (the worker reads the next when it is free) and another
    reads the results as they come, so neither process blocks on a full pipe.
    """

    def __init__(self) -> None:
        task_in, self._task_out = os.pipe()
        self._result_in, result_out = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the worker: it never returns from here
            try:
                os.close(self._task_out)
                os.close(self._result_in)
                _serve(task_in, result_out)  # exits the process itself
            finally:
                os._exit(1)  # never run the parent's code on after a failure here
        os.close(task_in)
        os.close(result_out)
        self._outbox: deque[bytes | None] = deque()
        self._results: list[tuple[bool, Any, str]] = []
        self._changed = threading.Condition()
        self._ended = False
        self._submitted = 0
        self._threads = [
            threading.Thread(target=self._write_tasks, daemon=True),
            threading.Thread(target=self._read_results, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, task: Callable[..., Any], args: tuple) -> Callable[[], Any]:
        """Queue one task; return the function that waits for its result."""
        data = pickle.dumps((task, args), pickle.HIGHEST_PROTOCOL)
        with self._changed:
            index, self._submitted = self._submitted, self._submitted + 1
            self._outbox.append(data)
            self._changed.notify_all()
        return lambda: self._result(index)

    def _result(self, index: int) -> Any:
        with self._changed:
            while len(self._results) <= index and not self._ended:
                self._changed.wait()
            if len(self._results) <= index:
                raise HelperError("the helper process ended before finishing its work")
            ok, value, remote = self._results[index]
        if ok:
            return value
        raise value from _RemoteTraceback(remote)

    def _write_tasks(self) -> None:
        """Write queued tasks to the worker until `close` queues None, then close the pipe."""
        try:
            while True:
                with self._changed:
                    while not self._outbox:
                        self._changed.wait()
                    data = self._outbox.popleft()
                if data is None:
                    return
                _write_message(self._task_out, data)
        except OSError:  # the worker is gone: the reader reports it
            return
        finally:
            os.close(self._task_out)

    def _read_results(self) -> None:
        """Collect the worker's results in order until it closes its end."""
        try:
            while True:
                outcome = _receive(self._result_in)
                with self._changed:
                    self._results.append(outcome)
                    self._changed.notify_all()
        except (EOFError, OSError):
            with self._changed:
                self._ended = True
                self._changed.notify_all()
        finally:
            os.close(self._result_in)

    def kill(self) -> None:
        """Stop the worker at once."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def close(self) -> None:
        """Let the worker finish the queued tasks and exit; wait for it (kill it if interrupted)."""
        with self._changed:
            self._outbox.append(None)
            self._changed.notify_all()
        try:
            for thread in self._threads:
                thread.join()
        except BaseException:
            self.kill()
            raise
        finally:
            os.waitpid(self.pid, 0)


def _serve(task_in: int, result_out: int) -> None:
    """Run tasks from `task_in` in order, answering each on `result_out`; exit at its end."""
    global _enabled
    code = 0
    try:
        _enabled = False  # no worker processes of its own, as for a daemonic pool worker
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops it (`helper`)
        while True:
            try:
                task, args = _receive(task_in)
            except EOFError:
                break
            try:
                outcome = (True, task(*args), "")
            except BaseException as exc:
                import traceback

                outcome = (False, exc, traceback.format_exc())
            _send(result_out, outcome)
    except BaseException:
        code = 1
    finally:
        os._exit(code)  # no clean-up of the parent's state: it is the parent's to do


def _send(fd: int, outcome: tuple[bool, Any, str]) -> None:
    """Write one result; an error that does not pickle is sent as its message."""
    try:
        data = pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        ok, value, remote = outcome
        problem = f"{type(value).__name__}: {value}" if not ok else f"unpicklable result: {exc}"
        data = pickle.dumps((False, HelperError(problem), remote), pickle.HIGHEST_PROTOCOL)
    _write_message(fd, data)


def _receive(fd: int) -> Any:
    """Read one length-prefixed pickle; EOFError when the other end closed first."""
    (length,) = _LENGTH.unpack(_read_exactly(fd, _LENGTH.size))
    return pickle.loads(_read_exactly(fd, length))


def _read_exactly(fd: int, count: int) -> bytearray:
    """Read `count` bytes into one buffer (a result can be hundreds of MB at 100k papers)."""
    buffer = bytearray(count)
    view = memoryview(buffer)
    while view:
        got = os.readv(fd, [view])
        if not got:
            raise EOFError
        view = view[got:]
    return buffer


def _write_message(fd: int, data: bytes) -> None:
    """Write `data` after its length (`_receive` reads it back)."""
    write_all(fd, _LENGTH.pack(len(data)))
    write_all(fd, data)


def ranges(count: int, parts: int) -> list[tuple[int, int]]:
    """Split `range(count)` into about `parts` contiguous (start, stop) slices."""
    step = max(1, -(-count // max(parts, 1)))
    return [(i, min(i + step, count)) for i in range(0, count, step)]

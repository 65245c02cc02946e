"""The fork-based work split: results in order, this process doing its share; the build's
helper process: tasks in order, errors brought back, no waiting on a helper nobody needs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator import parallel
from generator.errors import ContentError

needs_fork = pytest.mark.skipif(parallel.jobs_for(2, 2) < 2, reason="needs fork and 2 cores")


def _square_and_pid(value: int) -> tuple[int, int]:
    time.sleep(0.3 if value == 0 else 0.02)  # the first call is long: the others go elsewhere
    return value * value, os.getpid()


def test_starmap_keeps_order_and_shares_the_calls_as_they_come() -> None:
    if parallel.jobs_for(10, 2) < 2:
        pytest.skip("forking is not available here")
    results = parallel.starmap(_square_and_pid, [(n,) for n in range(10)], 2)
    assert [square for square, _ in results] == [n * n for n in range(10)]
    pids = [pid for _, pid in results]
    assert pids[0] == os.getpid()  # this process takes the first call...
    assert os.getpid() not in pids[1:3]  # ...while a worker takes the next ones
    assert len(set(pids)) == 2


def test_starmap_on_one_job_runs_everything_here() -> None:
    results = parallel.starmap(_square_and_pid, [(3,), (4,)], 1)
    assert results == [(9, os.getpid()), (16, os.getpid())]


def test_ranges_cover_every_index_once() -> None:
    for count in (0, 1, 7, 100):
        for parts in (1, 3, 8):
            covered = [
                i for start, stop in parallel.ranges(count, parts) for i in range(start, stop)
            ]
            assert covered == list(range(count))


def _fail_on_five(value: int) -> int:
    time.sleep(0.01)
    if value == 5:
        raise ValueError(f"bad value {value}")
    return value


def test_starmap_raises_a_calls_error_whichever_process_ran_it() -> None:
    with pytest.raises(ValueError, match="bad value 5"):
        parallel.starmap(_fail_on_five, [(n,) for n in range(12)], 2)
    assert parallel._SHARED == {}  # nothing left for the next caller


def test_starmap_stops_handing_out_calls_after_an_error() -> None:
    started = time.perf_counter()
    with pytest.raises(ValueError, match="bad value 5"):
        parallel.starmap(_fail_on_five, [(n,) for n in range(400)], 2)  # 4 s of calls
    assert time.perf_counter() - started < 2  # the worker did not run the other 394


def _write_marker(path: str) -> None:
    time.sleep(0.05)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("done")


def test_an_error_in_the_body_lets_queued_work_finish_instead_of_killing_workers(
    tmp_path: Path,
) -> None:
    """Killing a worker as it writes a result can leave the pool's queue locked for good."""
    markers = [str(tmp_path / f"m{n}") for n in range(6)]
    with pytest.raises(RuntimeError, match="stop"):
        with parallel._pool(2) as pool:
            for marker in markers:
                pool.apply_async(_write_marker, (marker,))
            raise RuntimeError("stop")
    assert all(Path(marker).read_text(encoding="utf-8") == "done" for marker in markers)


def _echo(value: object) -> tuple[object, int]:
    return value, os.getpid()


def _fail_on_entry(path: str) -> None:
    raise ContentError(Path(path), 7, "bad entry")


@needs_fork
def test_the_helper_runs_tasks_in_order_in_one_other_process() -> None:
    big = "x" * 3_000_000  # many times a pipe's buffer, both ways, queued before any wait
    with parallel.helper() as helper:
        assert helper.forked
        waits = [helper.submit(_echo, big), helper.submit(_echo, 2), helper.submit(_echo, [3])]
        results = [wait() for wait in waits]
        nested = helper.submit(parallel.jobs_for, 100, 1)()
    assert [value for value, _pid in results] == [big, 2, [3]]
    assert len({pid for _value, pid in results} | {os.getpid()}) == 2
    assert nested == 1  # no worker processes of its own


@needs_fork
def test_a_helper_tasks_error_comes_back_with_its_file_line_and_remote_traceback() -> None:
    with parallel.helper() as helper:
        wait = helper.submit(_fail_on_entry, "content/papers/x.yaml")
        with pytest.raises(ContentError) as info:
            wait()
        assert helper.submit(_echo, 1)()[0] == 1  # the helper goes on with the next task
    assert str(info.value).startswith("content/papers/x.yaml:7:")
    assert "_fail_on_entry" in str(info.value.__cause__)


@needs_fork
def test_a_helper_that_dies_fails_its_waiters_instead_of_hanging() -> None:
    with parallel.helper() as helper:
        wait = helper.submit(os._exit, 3)
        with pytest.raises(parallel.HelperError, match="ended"):
            wait()


@needs_fork
def test_a_result_that_does_not_pickle_comes_back_as_an_error() -> None:
    with parallel.helper() as helper:
        with pytest.raises(parallel.HelperError, match="unpicklable"):
            helper.submit(_make_lock)()
        assert helper.submit(_echo, 1)()[0] == 1


def _make_lock() -> object:
    import threading

    return threading.Lock()


@needs_fork
def test_an_error_in_the_body_stops_the_helper_at_once() -> None:
    started = time.perf_counter()
    with pytest.raises(RuntimeError, match="stop"):
        with parallel.helper() as helper:
            helper.submit(time.sleep, 60)
            raise RuntimeError("stop")
    assert time.perf_counter() - started < 30  # not the minute the queued work would take


@needs_fork
def test_the_helper_leaves_this_process_output_to_this_process() -> None:
    """The helper exits without flushing what this process had buffered at the fork."""
    run = _python(
        "import sys",
        "from generator import parallel",
        "sys.stdout.write('once')",
        "with parallel.helper() as helper:",
        "    helper.submit(len, 'abc')()",
    )
    assert run.stdout == "once"


def _python(*lines: str) -> subprocess.CompletedProcess:
    """Run the lines as a Python program of its own; it must succeed."""
    program = "\n".join(lines) + "\n"
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )


@needs_fork
def test_ctrl_c_is_left_to_this_process_which_stops_the_helper() -> None:
    """A terminal sends SIGINT to both processes: the helper ignores it, this one decides."""
    with parallel.helper() as helper:
        pid = helper.submit(os.getpid)()
        nap = helper.submit(time.sleep, 0.5)
        time.sleep(0.1)
        os.kill(pid, signal.SIGINT)
        assert nap() is None  # the task was not interrupted
    with pytest.raises(KeyboardInterrupt):
        with parallel.helper() as helper:
            pid = helper.submit(os.getpid)()
            helper.submit(time.sleep, 60)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the interrupt arrives here
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped, not left to sleep a minute


@needs_fork
def test_a_helper_that_fails_to_start_exits_without_running_this_process_code() -> None:
    run = _python(
        "from generator import parallel",
        "def broken(*args):",
        "    raise ValueError('no signals here')",
        "parallel.signal.signal = broken  # the helper's first step fails",
        "try:",
        "    with parallel.helper() as helper:",
        "        helper.submit(len, 'abc')()",
        "except parallel.HelperError:",
        "    print('helper error')",
        "print('end')",
    )
    assert (run.stdout, run.stderr) == ("helper error\nend\n", "")

"""The fork-based work split: results in order, this process doing its share."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from generator import parallel


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

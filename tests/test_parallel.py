"""The fork-based work split: results in order, this process doing its share."""

from __future__ import annotations

import os

import pytest

from generator import parallel


def _square_and_pid(value: int) -> tuple[int, int]:
    return value * value, os.getpid()


def test_starmap_keeps_order_and_shares_the_work_with_this_process() -> None:
    if parallel.jobs_for(10, 2) < 2:
        pytest.skip("forking is not available here")
    results = parallel.starmap(_square_and_pid, [(n,) for n in range(10)], 2)
    assert [square for square, _ in results] == [n * n for n in range(10)]
    pids = [pid for _, pid in results]
    assert pids[:5] == [os.getpid()] * 5  # the first share, in this process
    assert os.getpid() not in pids[5:]  # the rest, in a forked worker


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

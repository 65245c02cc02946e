"""Run a command as a child process and measure it: wall time, CPU time and peak RSS.

CPU time comes from `os.wait4`: the child's own usage plus that of the worker processes it
waited for. Memory is polled from `/proc` while the child runs:

* `max_rss_bytes`: the child's own high-water mark (`VmHWM`; a high-water mark only grows,
  so polling misses nothing unless the peak falls in the last poll interval);
* `tree_rss_bytes`: the largest sum of `VmRSS` over the child and its worker processes
  (counts pages the forked workers share with the parent once per process: an upper bound);
* `tree_pss_bytes`: the largest sum of proportional set sizes (`Pss` in `smaps_rollup`, shared
  pages split between the processes sharing them): what the process tree really occupies.
  Reading it walks the page tables: about 3.5 ms of CPU per poll during a shipped-corpus
  build, 0.1 s per build, taken from a build that keeps both cores busy. Timed comparisons
  with the peer therefore run with `pss=False` (None then), on both sides.

`ru_maxrss` is not used: Linux carries the parent's RSS over into a forked child's
`ru_maxrss`, so a large benchmark process would inflate every figure.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE_DATE_EPOCH = "1767225600"  # 2026-01-01, as the tests use


class StepError(RuntimeError):
    """A measured command failed or timed out."""


@dataclass
class Run:
    """What one child process took."""

    command: list[str]
    wall_s: float
    cpu_s: float
    max_rss_bytes: int
    tree_rss_bytes: int
    tree_pss_bytes: int | None  # None: not measured (see the module docstring)
    returncode: int
    timed_out: bool
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """Tell whether the command exited 0 within its time limit."""
        return self.returncode == 0 and not self.timed_out

    def check(self, what: str) -> Run:
        """Return self, or raise StepError with the command's own error output."""
        if self.timed_out:
            raise StepError(f"{what}: timed out after {self.wall_s:.0f} s")
        if self.returncode != 0:
            tail = "\n".join((self.stderr or self.stdout).strip().splitlines()[-15:])
            raise StepError(f"{what}: exit status {self.returncode}\n{tail}")
        return self


_CODE_PATH: list[str] = []  # folders holding a frozen copy of `generator/` (see use_code)


def use_code(folder: Path | None) -> None:
    """Make child processes import `generator` from `folder` (a snapshot) instead of the repo."""
    _CODE_PATH[:] = [str(folder)] if folder else []


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return a stable environment for the generator: fixed build date, CI unset."""
    env = dict(os.environ)
    env.pop("CI", None)
    env["SOURCE_DATE_EPOCH"] = SOURCE_DATE_EPOCH
    path = [*_CODE_PATH, str(REPO), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, path))
    env.update(extra or {})
    return env


POLL_S = 0.05


def _status_kb(pid: int, field: bytes, name: str = "status") -> int | None:
    """Return one `kB` field of `/proc/PID/status` (or `smaps_rollup`) in bytes."""
    try:
        with open(f"/proc/{pid}/{name}", "rb") as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _tree(pid: int) -> list[int]:
    """Return a process and all its descendants (via `/proc/PID/task/TID/children`)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", "rb") as handle:
                    todo.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return found


class _MemoryPoller(threading.Thread):
    """Track a child's peak memory (see the module docstring) until `stop()`."""

    def __init__(self, pid: int, pss: bool = True) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.pss = pss
        self.hwm = self.tree_rss = self.tree_pss = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(POLL_S)

    def sample(self) -> None:
        """Take one reading of the child's high-water mark and the tree's RSS and PSS."""
        self.hwm = max(self.hwm, _status_kb(self.pid, b"VmHWM:") or 0)
        rss = pss = 0
        for pid in _tree(self.pid):
            rss += _status_kb(pid, b"VmRSS:") or 0
            if self.pss:
                pss += _status_kb(pid, b"Pss:", "smaps_rollup") or 0
        self.tree_rss = max(self.tree_rss, rss)
        self.tree_pss = max(self.tree_pss, pss)

    def stop(self) -> None:
        """Stop polling and wait for the thread."""
        self.done.set()
        self.join()


def _kill(pid: int, flag: list[bool]) -> None:
    flag.append(True)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)  # the child leads its own process group


def run(
    command: Sequence[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    pss: bool = True,
) -> Run:
    """Run a command to completion (killed after `timeout` seconds) and measure it.

    `pss=False` skips the costly proportional set sizes (see the module docstring).
    """
    command = [str(part) for part in command]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, stdout=out, stderr=err, cwd=cwd, env=dict(env or child_env()),
            start_new_session=True,
        )  # fmt: skip
        timed_out: list[bool] = []
        timer = threading.Timer(timeout, _kill, (proc.pid, timed_out))
        timer.daemon = True
        timer.start()
        poller = _MemoryPoller(proc.pid, pss)
        poller.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            _kill(proc.pid, [])
            proc.wait()
            raise
        finally:
            timer.cancel()
            poller.stop()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        return Run(
            command=command,
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            max_rss_bytes=poller.hwm,
            tree_rss_bytes=max(poller.tree_rss, poller.hwm),
            tree_pss_bytes=poller.tree_pss if pss else None,
            returncode=proc.returncode,
            timed_out=bool(timed_out),
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


def survey(root: Path, *args: str, timeout: float, pss: bool = True) -> Run:
    """Run the real `survey` CLI on a project folder as a child process (cwd: the project)."""
    command = [sys.executable, "-m", "generator.cli", "--root", str(root), *args]
    return run(command, timeout=timeout, cwd=root, pss=pss)


def tree_size(folder: Path) -> tuple[int, int]:
    """Return (bytes, files) below a folder."""
    total = files = 0
    for path in folder.rglob("*"):
        if path.is_file():
            total += path.stat().st_size
            files += 1
    return total, files


def gzip_size(path: Path) -> int:
    """Return a file's size gzipped at level 6 (what a typical web server sends)."""
    return len(gzip.compress(path.read_bytes(), compresslevel=6, mtime=0))


def set_aside(trash: Path, *paths: Path) -> None:
    """Move files and folders that exist into `trash`, which the run deletes when it ends.

    Deleting thousands of files just before a timed step slows that step on some file
    systems: ext4 without a journal skips inodes freed in the last minute or so when it
    creates files (0.5 ms per file instead of 0.05 ms on this VM). So nothing is deleted
    between measurements, for either tool.
    """
    trash.mkdir(parents=True, exist_ok=True)
    for path in paths:
        if path.exists() or path.is_symlink():
            path.rename(trash / f"{len(list(trash.iterdir())):04d}-{path.name}")


def load_average() -> tuple[float, float, float] | None:
    """Return the 1, 5 and 15 minute load averages (other work skews timings)."""
    try:
        return os.getloadavg()
    except OSError:
        return None

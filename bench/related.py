"""Related-papers micro-benchmark: `generator.related.related_papers` on synthetic abstracts.

Each run is a fresh child process, so its peak memory is its own. The child builds
`synthetic_docs(n)` (not timed), then times `related_papers(docs, 5)`:

* `wall_s`, `cpu_s`: wall and CPU seconds of the call (CPU includes its worker processes);
* `peak_rss_mb`: the child's peak RSS (`ru_maxrss`), texts included; `docs_rss_mb` is that
  peak before the call, so the difference is what ranking added; `workers_peak_rss_mb` is
  the largest peak RSS of a worker process (0 without workers).

`--path python` or `--path numpy` forces one ranking path; `auto` (default) takes the one a
build takes. Run: `python -m bench.related --sizes 10000,100000 --repeat 3` (JSON lines).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Sequence

from .project import REPO

PATHS = {"auto": None, "python": 10**12, "numpy": 0}  # path -> NUMPY_MIN


def measure(n: int, path: str) -> dict:
    """Time `related_papers` on `n` synthetic documents in this process."""
    from generator import related

    if PATHS[path] is not None:
        related.NUMPY_MIN = PATHS[path]
    docs = related.synthetic_docs(n)
    docs_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu = time.perf_counter(), _cpu()
    related.related_papers(docs, 5)
    wall, cpu = time.perf_counter() - started, _cpu() - cpu
    own, workers = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return {
        "papers": n,
        "path": path,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "peak_rss_mb": round(own.ru_maxrss / 1024),
        "docs_rss_mb": round(docs_rss / 1024),
        "workers_peak_rss_mb": round(workers.ru_maxrss / 1024),
    }


def _cpu() -> float:
    """Return CPU seconds used by this process and the worker processes it has waited for."""
    own, workers = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def main(argv: Sequence[str] | None = None) -> int:
    """Run every size `repeat` times, each in a fresh process, and print one JSON line each."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.related", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--sizes", default="10000", help="comma-separated numbers of papers")
    parser.add_argument("--path", choices=sorted(PATHS), default="auto")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        json.dump(measure(args.child, args.path), sys.stdout)
        return 0
    for size in (int(s) for s in args.sizes.replace("_", "").split(",")):
        for _ in range(args.repeat):
            child = [
                sys.executable,
                "-m",
                "bench.related",
                "--child",
                str(size),
                "--path",
                args.path,
            ]
            run = subprocess.run(child, cwd=REPO, capture_output=True, text=True, check=True)
            print(run.stdout, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Ingest micro-benchmark: parse N records, then parse and store them (issue target: 10,000
records parsed and stored in under 3 s).

A corpus of exactly N distinct papers (no duplicates) is written as digests into a fresh project;
then, in this process, with the corpus already on disk, the generator modules imported and
the garbage collector set as the `survey` command sets it:

* `parse_s`: `generator.digest.parse_digest` over every digest (parse only);
* `ingest_s`: `generator.ingest.ingest` on the empty project: parse, merge, classify into
  topics and write one YAML entry per paper plus the ledger (parse and store).

The digests are flushed to disk (`os.sync`) before timing, so ingest's own flush does not
pay for the set-up. CPU figures include the worker processes; `ingest_kernel_cpu_s` is the
kernel's share of `ingest_cpu_s`, mostly creating the 10,000 entry files.

`create_file_ms` calibrates the disk just before the ingest: the time to create one entry-sized
file, over 2,000 files in a fresh folder beside the project (kept until the end: deleting them
would slow the ingest). Some file systems make it vary a lot: ext4 without a journal skips
inodes freed in the last minute or so with a linear scan, so right after a large deletion
(a previous run's temporary folder) a file can cost 0.2 ms instead of 0.02 ms, up to 2 s more
for 10,000 entries. Compare ingest figures only between runs with similar calibrations.

`cpu_loop_s` calibrates the processor the same way: the best of three runs of a fixed
pure-Python loop (string building, a dict and a regular expression, as ingest does). Virtual
machines of the same nominal size differ by 2x or more here, so an ingest figure means
little without it: compare `ingest_s / cpu_loop_s` across machines, not `ingest_s`.

Run on its own: `python -m bench.micro --records 10000` (prints JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from .corpus import generate
from .project import REPO, make_project


def _cpu() -> float:
    """Return CPU seconds used by this process and the worker processes it has waited for."""
    own, workers = _usage()
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def _kernel_cpu() -> float:
    """Return the part of `_cpu` spent in the kernel (creating files, mostly)."""
    own, workers = _usage()
    return own.ru_stime + workers.ru_stime


def _usage() -> tuple[resource.struct_rusage, resource.struct_rusage]:
    return resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)


def _calibrate(folder: Path, files: int = 2_000, size: int = 1_500) -> float:
    """Return the milliseconds it takes to create and write one entry-sized file here."""
    folder.mkdir()
    payload = b"x" * size
    started = time.perf_counter()
    for number in range(files):
        (folder / f"entry-{number}.yaml").write_bytes(payload)
    return (time.perf_counter() - started) * 1000 / files


def _calibrate_cpu(rounds: int = 3, size: int = 200_000) -> float:
    """Return the best time, in seconds, of a fixed pure-Python workload on this machine."""
    word = re.compile(r"[a-z]+")
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        counts: dict[str, int] = {}
        for number in range(size):
            for token in word.findall(f"paper {number % 997} about pruning and operators"):
                counts[token] = counts.get(token, 0) + 1
        best = min(best, time.perf_counter() - started)
    return best


def run_micro(records: int, seed: int, workdir: Path, source: Path = REPO) -> dict:
    """Measure parse-only and parse+store rates for `records` records."""
    from generator.cli import collect_less_often
    from generator.config import load_config
    from generator.digest import parse_digest
    from generator.ingest import ingest

    collect_less_often()  # as `survey ingest` runs
    corpus = generate(records, seed, duplicate_rate=0.0)
    root = make_project(workdir / "micro", source=source)
    paths = corpus.write(root / "content" / "digests")
    create_file_ms = _calibrate(workdir / "calibration")
    cpu_loop_s = _calibrate_cpu()
    os.sync()  # writing the corpus is set-up: flush it now, not in ingest's own flush
    started, cpu = time.perf_counter(), _cpu()
    parsed = sum(len(parse_digest(path).records) for path in paths)
    parse_s, parse_cpu_s = time.perf_counter() - started, _cpu() - cpu
    config = load_config(root)
    started, cpu, kernel = time.perf_counter(), _cpu(), _kernel_cpu()
    report = ingest(config)
    ingest_s, ingest_cpu_s = time.perf_counter() - started, _cpu() - cpu
    ingest_kernel_s = _kernel_cpu() - kernel
    import generator

    return {
        "generator": str(Path(generator.__file__).parent),
        "records": parsed,
        "digests": len(paths),
        "entries": report.entries,
        "parse_s": parse_s,
        "parse_cpu_s": parse_cpu_s,
        "parse_records_per_s": parsed / parse_s if parse_s else None,
        "ingest_s": ingest_s,
        "ingest_cpu_s": ingest_cpu_s,
        "ingest_kernel_cpu_s": ingest_kernel_s,
        "ingest_records_per_s": parsed / ingest_s if ingest_s else None,
        "create_file_ms": create_file_ms,
        "cpu_loop_s": cpu_loop_s,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the micro-benchmark in a temporary folder and print its figures as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.micro", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--source", type=Path, default=REPO, help="repository or snapshot to copy")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="folder to work in, kept afterwards (default: a temporary one, "
                        "deleted)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        figures = run_micro(args.records, args.seed, args.workdir, args.source)
    else:
        with tempfile.TemporaryDirectory(prefix="survey-bench-micro-") as tmp:
            figures = run_micro(args.records, args.seed, Path(tmp), args.source)
    json.dump(figures, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

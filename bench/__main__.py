"""Run the benchmark suite: `python -m bench [--sizes shipped,1000,10000] [--skip-mkdocs]`.

For each corpus size, in a fresh temporary project, the real `survey` CLI runs as a child
process (so each step's wall time, CPU time and peak RSS are its own):

1. full build from scratch (`survey build` on digests only);
2. one settling rebuild, then three no-change rebuilds (`survey build`; median reported);
3. an incremental rebuild (`survey build`) after adding one digest of 100 new papers;
4. reset (entries, ledger, caches, output), `survey ingest`, then cold builds
   (`survey build` as on a fresh clone: entries and ledger, no output, no caches; the
   ledger's stamp says nothing needs ingesting), alternating with the MkDocs
   peer (bench/peer.py) building the same papers (`--pairs` times on small corpora,
   medians reported);
5. site figures: output size, search payload per paper (raw and gzipped), and search timings
   in headless Chromium (bench/browser.py).

The 10,000-record ingest micro-benchmark (bench/micro.py) runs first. Nothing is deleted
until every figure is measured: outputs, caches and projects are moved aside and deleted at
the end, since a large deletion slows file creation for a minute or so on some file systems
(`measure.set_aside`). Prints a table with each figure next to its target and saves
everything as JSON. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from generator.digest import parse_digest

from . import browser, peer
from .corpus import Corpus, generate, load_sources
from .measure import (
    REPO,
    Run,
    StepError,
    gzip_size,
    load_average,
    run,
    set_aside,
    survey,
    tree_size,
    use_code,
)
from .project import code_stamp, make_project, reset_project, snapshot
from .report import checks, render

DEFAULT_SIZES = "shipped,1000,10000"
DEFAULT_JSON = REPO / "bench" / "out" / "results.json"
NOCHANGE_RUNS = 3
PAIRS = 3  # cold builds alternating with MkDocs builds, on corpora up to PAIRED_MAX_PAPERS
PAIRED_MAX_PAPERS = 2_000
EXTRA_PAPERS = 100


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_sizes(text: str) -> list[str]:
    """Turn `shipped,1k,10000` into ["shipped", "1000", "10000"]."""
    sizes = []
    for part in filter(None, (p.strip().lower() for p in text.split(","))):
        if part == "shipped":
            sizes.append(part)
            continue
        number = part[:-1] if part.endswith("k") else part
        try:
            value = int(float(number) * (1000 if part.endswith("k") else 1))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"not a corpus size: {part!r} (use shipped or a number)"
            ) from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"corpus size must be positive: {part!r}")
        sizes.append(str(value))
    if not sizes:
        raise argparse.ArgumentTypeError("no sizes given")
    return list(dict.fromkeys(sizes))


def machine() -> dict:
    """Describe the machine the figures were measured on."""
    info: dict = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_bytes"] = int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
        )
        info["commit"] = commit.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        info["commit"] = None
    return info


class SizeBench:
    """Every measurement for one corpus size, recorded into `self.figures` as it goes."""

    def __init__(self, size: str, workdir: Path, args: argparse.Namespace, code: Path) -> None:
        self.size = size
        self.workdir = workdir
        self.args = args
        self.code = code
        self.root = workdir / "project"
        self.trash = workdir / "trash"  # see measure.set_aside
        self.figures: dict = {"load_before": load_average()}

    def timeout(self, papers: int) -> float:
        """Return the time limit for one step on a corpus of this many papers."""
        return self.args.timeout or 600 + 0.025 * papers

    def step(self, name: str, *cli_args: str, papers: int, pss: bool = True) -> Run:
        """Run one `survey` command, record its time, CPU and memory under `name`.

        `pss=False`: a timed comparison, where reading PSS would slow the build it measures.
        """
        _say(f"[{self.size}] {name}: survey {' '.join(cli_args)}")
        result = survey(self.root, *cli_args, timeout=self.timeout(papers), pss=pss).check(
            f"{name} ({self.size})"
        )
        self.figures[f"{name}_s"] = result.wall_s
        self.figures[f"{name}_cpu_s"] = result.cpu_s
        self.figures[f"{name}_rss_bytes"] = result.max_rss_bytes
        self.figures[f"{name}_tree_rss_bytes"] = result.tree_rss_bytes
        self.figures[f"{name}_tree_pss_bytes"] = result.tree_pss_bytes
        for key, value in (
            ("peak_rss_bytes", result.max_rss_bytes),
            ("peak_tree_rss_bytes", result.tree_rss_bytes),
            ("peak_tree_pss_bytes", result.tree_pss_bytes),
        ):
            if value is not None:
                self.figures[key] = max(self.figures.get(key, 0), value)
        tree_pss = result.tree_pss_bytes
        pss_text = "" if tree_pss is None else f", tree pss {tree_pss / 1e6:.0f} MB"
        _say(f"[{self.size}]   {result.wall_s:.2f} s, cpu {result.cpu_s:.2f} s, "
             f"rss {result.max_rss_bytes / 1e6:.0f} MB{pss_text}")  # fmt: skip
        return result

    def corpus(self, sources: list) -> Corpus:
        """Generate this size's corpus (the shipped papers themselves for `shipped`)."""
        papers = len(sources) if self.size == "shipped" else int(self.size)
        started = time.perf_counter()
        corpus = generate(papers, self.args.seed, extra=EXTRA_PAPERS, sources=sources)
        what = (
            f"{len(corpus.papers)} papers, {corpus.records} records, {len(corpus.digests)} digests"
        )
        if self.size == "shipped":
            what = "the shipped digests"
        _say(f"[{self.size}] corpus: {what}, plus a digest of {corpus.extra_papers} new papers "
             f"({time.perf_counter() - started:.1f} s)")  # fmt: skip
        return corpus

    def run(self, sources: list) -> dict:
        """Run every step; a failing step ends this size with its error recorded."""
        try:
            self._run(sources)
        except StepError as exc:
            self.figures["error"] = str(exc)
            _say(f"[{self.size}] FAILED: {exc}")
        self.figures["load_after"] = load_average()
        return self.figures

    def _run(self, sources: list) -> None:
        make_project(self.root, shipped_digests=self.size == "shipped", source=self.code)
        digests_dir = self.root / "content" / "digests"
        corpus = self.corpus(sources)
        if self.size == "shipped":
            shipped = sorted(digests_dir.glob("*.txt"))
            self.figures["digests"] = len(shipped)
            self.figures["records"] = sum(len(parse_digest(p).records) for p in shipped)
        else:
            corpus.write(digests_dir)
            self.figures["digests"] = len(corpus.digests)
            self.figures["records"] = corpus.records
        extra = corpus.write_extra(self.workdir / "extra")
        n = len(corpus.papers)

        # A user's sequence: build from digests, rebuild with nothing changed, add a digest.
        self.step("full_build", "build", "-q", papers=n)
        papers_dir = self.root / "content" / "papers"
        self.figures["papers"] = len(list(papers_dir.glob("*.yaml")))
        # The first rebuild may still settle caches; it is recorded, not counted as no-change.
        self.step("settle", "build", "-q", papers=n)
        runs = [self.step("nochange", "build", "-q", papers=n) for _ in range(NOCHANGE_RUNS)]
        self.figures["nochange_runs_s"] = [r.wall_s for r in runs]
        self.figures["nochange_s"] = statistics.median(r.wall_s for r in runs)
        self.figures["nochange_cpu_s"] = statistics.median(r.cpu_s for r in runs)
        added = digests_dir / extra.name
        shutil.copy(extra, added)
        self.step("incremental", "build", "-q", papers=n)
        self.figures["papers_after_incremental"] = len(list(papers_dir.glob("*.yaml")))

        # Cold: ingest alone, then build as on a fresh clone (no output and no caches at all),
        # alternating with the MkDocs peer (several pairs on small corpora: on a shared
        # machine one pair can be off by 20%, each way).
        set_aside(self.trash, added)
        reset_project(self.root, self.trash)
        self.step("ingest", "ingest", "-q", papers=n)
        pairs = self.args.pairs if n <= PAIRED_MAX_PAPERS else 1
        pss = pairs == 1  # paired runs are timed comparisons: no PSS polling on either side
        colds, peers = [], []
        for number in range(1, pairs + 1):
            set_aside(self.trash, self.root / "_site", self.root / ".survey-cache")
            if pairs > 1:
                _say(f"[{self.size}] pair {number} of {pairs}: a cold build, then MkDocs")
            colds.append(self.step("cold_build", "build", "-q", papers=n, pss=pss))
            peers.append(self.mkdocs(papers_dir, n, pss))
        self.figures["build_summary"] = colds[-1].stdout.strip().splitlines()[-1:] or None
        self.site_figures()
        self.record_pairs(colds, [p for p in peers if p is not None])
        self.browser()

    def site_figures(self) -> None:
        """Record output size, page count and the search payload per paper."""
        site = self.root / "_site"
        self.figures["output_bytes"], self.figures["output_files"] = tree_size(site)
        self.figures["pages"] = sum(1 for _ in site.rglob("*.html"))
        files = sorted(p for p in (site / "search").rglob("*") if p.is_file())
        raw = sum(p.stat().st_size for p in files)
        gz = sum(gzip_size(p) for p in files)
        papers = max(self.figures.get("papers") or 1, 1)
        self.figures.update(
            search_files=len(files),
            search_bytes=raw,
            search_gz_bytes=gz,
            search_bytes_per_paper=raw / papers,
            search_gz_bytes_per_paper=gz / papers,
        )

    def browser(self) -> None:
        """Record the search timings in headless Chromium (errors are recorded, not raised)."""
        if self.args.skip_browser:
            return
        _say(f"[{self.size}] browser: search timings")
        try:
            figures = browser.measure_search(
                self.root / "_site", timeout_s=self.args.browser_timeout
            )
        except Exception as exc:  # noqa: BLE001 - a browser problem must not lose the other figures
            figures = {
                "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            }
        if "error" in figures:
            self.figures["browser_error"] = figures.pop("error")
            _say(f"[{self.size}]   {self.figures['browser_error']}")
        self.figures.update(figures)

    def record_pairs(self, colds: list[Run], peers: list[dict]) -> None:
        """Record the cold builds and the peer's builds as medians, and their ratios."""
        self.figures["cold_build_runs_s"] = [r.wall_s for r in colds]
        self.figures["cold_build_s"] = statistics.median(r.wall_s for r in colds)
        self.figures["cold_build_cpu_s"] = statistics.median(r.cpu_s for r in colds)
        self.figures["cold_build_rss_bytes"] = max(r.max_rss_bytes for r in colds)
        errors = [p["error"] for p in peers if "error" in p]
        if errors:
            self.figures["mkdocs_error"] = errors[0]
        if not peers:
            return
        last = peers[-1]
        for key in ("search_bytes_per_paper", "search_gz_bytes_per_paper", "output_bytes",
                    "max_rss_bytes", "version"):  # fmt: skip
            if key in last:
                self.figures[f"mkdocs_{key}"] = last[key]
        built = [p for p in peers if "error" not in p]
        if not built:
            return
        theirs = statistics.median(p["build_s"] for p in built)
        theirs_cpu = statistics.median(p["build_cpu_s"] for p in built)
        self.figures.update(
            mkdocs_build_runs_s=[p["build_s"] for p in built],
            mkdocs_build_s=theirs,
            mkdocs_build_cpu_s=theirs_cpu,
            speedup_cold=theirs / self.figures["cold_build_s"],
            speedup_full=theirs / self.figures["full_build_s"],
            speedup_cold_cpu=theirs_cpu / self.figures["cold_build_cpu_s"],
        )
        if last.get("search_bytes_per_paper"):
            self.figures["payload_ratio"] = (
                self.figures["search_bytes_per_paper"] / last["search_bytes_per_paper"]
            )
            self.figures["payload_gz_ratio"] = (
                self.figures["search_gz_bytes_per_paper"] / last["search_gz_bytes_per_paper"]
            )

    def mkdocs(self, papers_dir: Path, papers: int, pss: bool) -> dict | None:
        """Build the same papers with MkDocs; return its figures (None when skipped)."""
        if self.args.skip_mkdocs:
            return None
        _say(f"[{self.size}] mkdocs: building the same {papers} papers")
        dest = self.workdir / "mkdocs"
        set_aside(self.trash, dest)
        figures = peer.measure(papers_dir, dest, self.timeout(papers), pss)
        if "error" in figures:
            _say(f"[{self.size}]   {figures['error']}")
        else:
            _say(f"[{self.size}]   {figures['build_s']:.2f} s, cpu {figures['build_cpu_s']:.2f} s")
        return figures


def run_micro(args: argparse.Namespace, code: Path, workdir: Path) -> dict:
    """Run the ingest micro-benchmark in its own process, on the snapshot of the code.

    Its project stays in `workdir` until the run ends (see `measure.set_aside`).
    """
    _say(f"[micro] ingest micro-benchmark: {args.micro_records} records")
    command = [sys.executable, "-m", "bench.micro", "--records", str(args.micro_records)]
    command += ["--workdir", str(workdir)]
    result = run([*command, "--source", str(code)], cwd=code, timeout=args.timeout or 1800)
    if not result.ok:
        reason = "timed out" if result.timed_out else f"exit status {result.returncode}"
        return {"error": f"{reason}: {result.stderr.strip()[-500:]}"}
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["max_rss_bytes"] = result.max_rss_bytes
    _say(f"[micro]   parse {figures['parse_s']:.2f} s, parse+store {figures['ingest_s']:.2f} s")
    return figures


def save(results: dict, path: Path | None) -> None:
    """Write the results as JSON (after each size, so a crash keeps what was measured)."""
    if path is None:
        return
    results["checks"] = checks(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


def _warm_up(code: Path) -> str:
    """Import the generator once (byte-compiling is not timed); return where it came from."""
    script = "import generator.build, generator.ingest, generator.cli; print(generator.__file__)"
    result = run([sys.executable, "-c", script], timeout=300, cwd=code).check(
        "importing the generator"
    )
    return result.stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite, print the table, save JSON; exit 1 only when a step could not run."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes(DEFAULT_SIZES),
                        help=f"corpus sizes, comma-separated (default {DEFAULT_SIZES}); "
                        "100000 is opt-in: it takes a long time")  # fmt: skip
    parser.add_argument("--skip-mkdocs", action="store_true", help="do not build the MkDocs peer")
    parser.add_argument(
        "--skip-browser", action="store_true", help="do not measure search in Chromium"
    )
    parser.add_argument(
        "--skip-micro", action="store_true", help="do not run the ingest micro-benchmark"
    )
    parser.add_argument("--micro-records", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=PAIRS,
                        help="cold builds alternating with MkDocs builds (medians reported) "
                        f"up to {PAIRED_MAX_PAPERS:,} papers (default {PAIRS})")  # fmt: skip
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help=f"results file (default {DEFAULT_JSON})"
    )
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per step (default 600 + 0.025 per paper)")  # fmt: skip
    parser.add_argument(
        "--browser-timeout", type=float, default=60, help="seconds per browser wait"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary projects and print where"
    )
    args = parser.parse_args(argv)

    results: dict = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "sizes": {},
    }
    sources = load_sources()
    base = Path(tempfile.mkdtemp(prefix="survey-bench-"))
    failed = False
    try:
        code = snapshot(base / "code")
        use_code(code)
        results["machine"]["code_stamp"] = code_stamp(code)
        imported = _warm_up(code)
        if not imported.startswith(str(code)):
            raise StepError(f"children import the generator from {imported}, not the snapshot")
        _say(f"measuring a snapshot of the code (stamp {results['machine']['code_stamp']})")
        if not args.skip_micro:
            results["micro"] = run_micro(args, code, base / "micro")
            failed = failed or "error" in results["micro"]
            save(results, args.json)
        for size in args.sizes:
            bench = SizeBench(size, base / size, args, code)
            try:
                results["sizes"][size] = bench.run(sources)
            except Exception as exc:  # noqa: BLE001 - report, keep the other sizes
                traceback.print_exc()
                results["sizes"][size] = {**bench.figures, "error": f"{type(exc).__name__}: {exc}"}
            failed = failed or "error" in results["sizes"][size]
            save(results, args.json)  # projects are deleted at the end (see set_aside)
    except KeyboardInterrupt:
        _say("interrupted; reporting what was measured")
        failed = True
    except StepError as exc:
        _say(f"cannot run the benchmark: {exc}")
        return 2
    finally:
        if args.keep:
            _say(f"kept the projects under {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    results["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results["checks"] = checks(results)
    save(results, args.json)
    print(render(results))
    if args.json:
        print(f"\nresults saved to {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

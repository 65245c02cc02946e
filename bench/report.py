"""Targets from the issues, and the results table (each figure next to its target)."""

from __future__ import annotations

import json
import operator
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

KB = 1000  # payload targets are in kilobytes of 1,000 bytes
GB = 1000**3
MICRO_RECORDS = 10_000  # the ingest target is for this many records


@dataclass(frozen=True)
class Target:
    """A figure's goal: `metric op limit` for one corpus size."""

    size: str  # "shipped", "10000", "100000" or "micro"
    metric: str
    op: str  # "<", "<=" or ">="
    limit: float
    issue: str

    def met(self, value: float) -> bool:
        """Tell whether a measured value meets the target."""
        ops: dict[str, Callable[[float, float], bool]] = {
            "<": operator.lt,
            "<=": operator.le,
            ">=": operator.ge,
        }
        return ops[self.op](value, self.limit)


TARGETS = [
    # The issues set the MkDocs ratio for the cold build: both start from one source file per
    # paper. The full build from digests also parses and classifies them, which MkDocs has no
    # counterpart for; its ratio is reported without a target.
    Target("shipped", "speedup_cold", ">=", 5, "Performance and scale"),
    Target("shipped", "nochange_s", "<", 0.5, "Performance and scale"),
    Target("shipped", "search_bytes_per_paper", "<=", 2.5 * KB, "search"),
    Target("shipped", "search_gz_bytes_per_paper", "<=", 0.7 * KB, "search"),
    Target("10000", "full_build_s", "<", 30, "Performance and scale"),
    Target("10000", "cold_build_s", "<", 30, "Performance and scale"),
    Target("10000", "peak_tree_pss_bytes", "<", 1 * GB, "Performance and scale"),
    Target("10000", "incremental_s", "<", 5, "Performance and scale"),
    Target("10000", "first_results_ms", "<=", 300, "search"),
    Target("10000", "index_load_ms", "<", 1000, "search"),
    Target("100000", "full_build_s", "<", 300, "Performance and scale"),
    Target("100000", "cold_build_s", "<", 300, "Performance and scale"),
    Target("micro", "ingest_s", "<", 3, "ingest"),
]

# (metric, label, unit, cpu metric or None), in table order.
ROWS = [
    ("ingest_s", "ingest (survey ingest, empty store)", "s", "ingest_cpu_s"),
    ("full_build_s", "full build from scratch (survey build)", "s", "full_build_cpu_s"),
    ("cold_build_s", "cold build (fresh clone, no caches), median", "s", "cold_build_cpu_s"),
    ("settle_s", "first rebuild after full build (settle)", "s", "settle_cpu_s"),
    ("nochange_s", "no-change rebuild (survey build), median", "s", "nochange_cpu_s"),
    ("incremental_s", "incremental: + one 100-paper digest", "s", "incremental_cpu_s"),
    ("peak_tree_pss_bytes", "peak memory, process + workers (PSS)", "bytes", None),
    ("peak_tree_rss_bytes", "peak memory, process + workers (sum of RSS)", "bytes", None),
    ("peak_rss_bytes", "peak RSS of the survey process alone", "bytes", None),
    ("output_bytes", "output size (_site)", "bytes", None),
    ("pages", "pages written", "count", None),
    ("search_bytes_per_paper", "search payload per paper, raw", "bytes", None),
    ("search_gz_bytes_per_paper", "search payload per paper, gzipped", "bytes", None),
    ("index_load_ms", "browser: index load (open page to 1st result)", "ms", None),
    ("first_results_ms", "browser: typing to first results (median)", "ms", None),
    ("cold_type_ms", "browser: typing on fresh page to first results", "ms", None),
    ("mkdocs_build_s", "MkDocs 1.6 build (same papers), median", "s", "mkdocs_build_cpu_s"),
    ("mkdocs_search_bytes_per_paper", "MkDocs search_index.json per paper, raw", "bytes", None),
    ("mkdocs_search_gz_bytes_per_paper", "MkDocs search_index.json per paper, gz", "bytes", None),
    ("speedup_cold", "speed-up vs MkDocs (cold build)", "x", None),
    ("speedup_full", "speed-up vs MkDocs (full build, ingest included)", "x", None),
    ("speedup_cold_cpu", "speed-up vs MkDocs (cold build, CPU time)", "x", None),
    ("payload_ratio", "search payload ours/MkDocs (raw)", "ratio", None),
]
MICRO_ROWS = [
    ("parse_s", "parse only (parse_digest)", "s", "parse_cpu_s"),
    ("parse_records_per_s", "parse only, records/s", "rate", None),
    ("ingest_s", "parse + store (ingest into empty store)", "s", "ingest_cpu_s"),
    ("ingest_records_per_s", "parse + store, records/s", "rate", None),
    ("create_file_ms", "disk: creating one entry file (see bench/micro.py)", "ms3", None),
    ("cpu_loop_s", "CPU: fixed pure-Python loop (see bench/micro.py)", "s", None),
]


def fmt(value: float | None, unit: str) -> str:
    """Format a figure with its unit."""
    if value is None:
        return "-"
    if unit == "s":
        return (
            f"{value:.2f} s"
            if value < 10
            else f"{value:.1f} s"
            if value < 100
            else f"{value:.0f} s"
        )
    if unit == "ms":
        return f"{value:.0f} ms"
    if unit == "ms3":
        return f"{value:.3f} ms"
    if unit == "bytes":
        if value >= 1e9:
            return f"{value / 1e9:.2f} GB"
        if value >= 1e6:
            return f"{value / 1e6:.1f} MB"
        return f"{value / KB:.2f} KB" if value >= KB else f"{value:.0f} B"
    if unit == "x":
        return f"{value:.1f}x"
    if unit == "ratio":
        return f"{value:.2f}"
    if unit == "rate":
        return f"{value:,.0f}/s"
    return f"{value:,.0f}"


def target_text(target: Target, unit: str) -> str:
    """Render a target as `< 30 s`."""
    return f"{target.op} {fmt(target.limit, unit)}"


def _targets_for(size: str) -> dict[str, Target]:
    return {t.metric: t for t in TARGETS if t.size == size}


def checks(results: dict) -> list[dict]:
    """Return every target with its measured value and PASS, FAIL or n/a."""
    out = []
    for target in TARGETS:
        figures = (
            results.get("micro") if target.size == "micro" else results["sizes"].get(target.size)
        )
        if figures is None or (target.size == "micro" and not _full_micro(figures)):
            continue
        value = figures.get(target.metric)
        status = "n/a" if value is None else ("PASS" if target.met(value) else "FAIL")
        out.append({
            "size": target.size, "metric": target.metric, "op": target.op,
            "limit": target.limit, "value": value, "status": status, "issue": target.issue,
        })  # fmt: skip
    return out


def _full_micro(figures: dict) -> bool:
    """Tell whether the micro-benchmark ran at the size its target is set for."""
    return (figures.get("records") or 0) >= MICRO_RECORDS


def _table(rows: Iterable[tuple[str, str, str, str]]) -> list[str]:
    rows = list(rows)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return [
        "  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]


def _size_rows(size: str, figures: dict) -> list[tuple[str, str, str, str]]:
    own = _targets_for(size)
    reference = _targets_for("10000") if size not in {"shipped", "10000", "100000"} else {}
    rows = [("figure", "value", "target", "status")]
    for metric, label, unit, cpu in ROWS:
        value = figures.get(metric)
        if value is None and metric not in own:
            continue
        text = fmt(value, unit)
        if cpu and figures.get(cpu) is not None:
            text += f" (cpu {fmt(figures[cpu], unit)})"
        if metric in own:
            target = own[metric]
            status = "n/a" if value is None else ("PASS" if target.met(value) else "FAIL")
            rows.append((label, text, target_text(target, unit), status))
        elif metric in reference:
            rows.append((label, text, f"(10k: {target_text(reference[metric], unit)})", ""))
        else:
            rows.append((label, text, "", ""))
    return rows


def _pair_lines(figures: dict) -> list[str]:
    """List each cold build and MkDocs build when the two alternated more than once."""
    ours, theirs = figures.get("cold_build_runs_s") or [], figures.get("mkdocs_build_runs_s") or []
    if len(ours) < 2:
        return []
    line = "  alternating runs: cold build " + ", ".join(fmt(v, "s") for v in ours)
    if theirs:
        line += "; MkDocs " + ", ".join(fmt(v, "s") for v in theirs)
    return [line]


def render(results: dict) -> str:
    """Return the whole results table as text."""
    lines = []
    machine = results.get("machine", {})
    lines.append(
        f"survey benchmark: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
        f"{fmt(machine.get('memory_bytes'), 'bytes')} RAM, Python {machine.get('python', '?')}"
    )
    for size, figures in results["sizes"].items():
        papers = figures.get("papers")
        head = f"{size} corpus" if size == "shipped" else f"{size}-paper corpus"
        if papers is not None:
            records, digests = figures.get("records", "?"), figures.get("digests", "?")
            head += f": {papers} papers, {records} records, {digests} digests"
        lines += ["", head]
        lines += _table(_size_rows(size, figures))
        lines += _pair_lines(figures)
        for key in ("error", "browser_error", "mkdocs_error", "warning"):
            if figures.get(key):
                lines.append(f"  {key.replace('_', ' ')}: {figures[key]}")
    micro = results.get("micro")
    if micro:
        lines += ["", f"ingest micro-benchmark: {micro.get('records', '?')} records"]
        rows = [("figure", "value", "target", "status")]
        own = _targets_for("micro")
        for metric, label, unit, cpu in MICRO_ROWS:
            value = micro.get(metric)
            text = fmt(value, unit)
            if cpu and micro.get(cpu) is not None:
                text += f" (cpu {fmt(micro[cpu], unit)})"
            if metric in own and not _full_micro(micro):
                rows.append((label, text, f"(10k records: {target_text(own[metric], unit)})", ""))
            elif metric in own:
                status = "n/a" if value is None else ("PASS" if own[metric].met(value) else "FAIL")
                rows.append((label, text, target_text(own[metric], unit), status))
            else:
                rows.append((label, text, "", ""))
        lines += _table(rows)
        if micro.get("error"):
            lines.append(f"  error: {micro['error']}")
    summary = results.get("checks", [])
    passed = sum(1 for c in summary if c["status"] == "PASS")
    failed = sum(1 for c in summary if c["status"] == "FAIL")
    lines += ["", f"targets: {passed} PASS, {failed} FAIL, {len(summary) - passed - failed} n/a"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table for a saved results file: `python -m bench.report [results.json]`."""
    args = list(sys.argv[1:] if argv is None else argv)
    path = Path(args[0]) if args else Path(__file__).resolve().parent / "out" / "results.json"
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"cannot read {path}: {exc}", file=sys.stderr)
        return 2
    results["checks"] = checks(results)
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

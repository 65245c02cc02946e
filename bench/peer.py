"""The peer: MkDocs 1.6 building the same papers as Markdown, with a prebuilt lunr index.

One Markdown page per paper (title as H1, a metadata line, the abstract, its links) and an
index page listing every paper, read from the entries `survey ingest` wrote. The MkDocs config
uses the built-in `mkdocs` theme and `plugins: - search: prebuild_index: python` (lunr.py).

`nav` lists only the index page. Without it MkDocs puts every page in every page's navigation,
so its output (and build time) grows with the square of the number of papers; our site doesn't
list every paper on every page either, so the explicit nav keeps the comparison like for like.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import yaml

from .measure import Run, gzip_size, run, tree_size

MKDOCS_YML = """\
site_name: Survey benchmark (MkDocs peer)
site_url: ""
theme:
  name: mkdocs
plugins:
  - search:
      prebuild_index: python
nav:
  - Papers: index.md
"""

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def mkdocs_version() -> str | None:
    """Return the installed MkDocs version, or None when it is not installed."""
    if importlib.util.find_spec("mkdocs") is None:
        return None
    from importlib.metadata import version

    return version("mkdocs")


def _escape(text: str) -> str:
    """Keep titles and abstracts literal in Markdown (no accidental emphasis or HTML)."""
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return text


def _page(ingest: dict) -> str:
    meta = []
    if ingest.get("authors"):
        meta.append(f"{ingest['authors']} authors")
    if ingest.get("date"):
        meta.append(str(ingest["date"]))
    if ingest.get("upvotes"):
        meta.append(f"{ingest['upvotes']} upvotes")
    topics = [t.get("topic", "") for t in ingest.get("topics") or [] if isinstance(t, dict)]
    meta.append("Topics: " + (", ".join(topics) if topics else "Other"))
    lines = [f"# {_escape(str(ingest.get('title', '')))}", "", "*" + " · ".join(meta) + "*", ""]
    lines += [_escape(str(ingest.get("abstract", ""))), ""]
    for link in ingest.get("links") or []:
        url = link.get("url") if isinstance(link, dict) else None
        if url:
            lines.append(f"- <{url}>")
    return "\n".join(lines) + "\n"


def write_docs(papers_dir: Path, dest: Path) -> int:
    """Write an MkDocs project for the entries in `papers_dir`; return the number of papers."""
    docs = dest / "docs"
    (docs / "papers").mkdir(parents=True, exist_ok=True)
    (dest / "mkdocs.yml").write_text(MKDOCS_YML, encoding="utf-8")
    index = ["# Papers", ""]
    count = 0
    for path in sorted(papers_dir.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=_Loader) or {}  # noqa: S506 - a safe loader (C or Python)
        ingest = data.get("ingest") or {}
        if (data.get("curated") or {}).get("hidden"):
            continue
        (docs / "papers" / f"{path.stem}.md").write_text(_page(ingest), encoding="utf-8")
        index.append(f"- [{_escape(str(ingest.get('title', path.stem)))}](papers/{path.stem}.md)")
        count += 1
    (docs / "index.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    return count


def build(dest: Path, timeout: float, pss: bool = True) -> Run:
    """Run `mkdocs build` on a project written by `write_docs` (`pss`: see `measure.run`)."""
    return run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--quiet",
            "--clean",
            "-f",
            "mkdocs.yml",
            "-d",
            "site",
        ],
        cwd=dest,
        timeout=timeout,
        pss=pss,
    )


def measure(papers_dir: Path, dest: Path, timeout: float, pss: bool = True) -> dict:
    """Build the peer site and return its figures (or why it could not be built)."""
    version = mkdocs_version()
    if version is None:
        return {"error": "mkdocs is not installed (pip install -e '.[bench]')"}
    papers = write_docs(papers_dir, dest)
    result = build(dest, timeout, pss)
    figures: dict = {
        "version": version,
        "papers": papers,
        "build_s": result.wall_s,
        "build_cpu_s": result.cpu_s,
        "max_rss_bytes": result.max_rss_bytes,
    }
    if not result.ok:
        reason = "timed out" if result.timed_out else f"exit status {result.returncode}"
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        figures["error"] = f"mkdocs build {reason}" + (f": {tail}" if tail else "")
        return figures
    index = dest / "site" / "search" / "search_index.json"
    if index.is_file():
        raw = index.stat().st_size
        figures["search_bytes"] = raw
        figures["search_gz_bytes"] = gzip_size(index)
        figures["search_bytes_per_paper"] = raw / max(papers, 1)
        figures["search_gz_bytes_per_paper"] = figures["search_gz_bytes"] / max(papers, 1)
    figures["output_bytes"], figures["output_files"] = tree_size(dest / "site")
    return figures

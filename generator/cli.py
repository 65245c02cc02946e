"""The `survey` command line: a thin layer over the library functions."""

from __future__ import annotations

import datetime as dt
import gc
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import click

from . import __version__
from .config import Config, load_config
from .errors import SurveyError

GC_THRESHOLD = 100_000  # allocations between young-generation collections (Python: 700)


def collect_less_often() -> None:
    """Set the garbage collector for a run of the pipeline.

    The pipeline allocates millions of long-lived, acyclic objects (entries, pages, index
    terms); with the default threshold the collector rescans them so often that it costs
    about a third of a rebuild at 10,000 papers. Cycles are still collected.
    """
    gc.set_threshold(GC_THRESHOLD, 50, 100)


def _progress(quiet: bool) -> Callable[[str], None]:
    def say(message: str) -> None:
        if not quiet:
            click.echo(message, err=True)

    return say


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form") from None


_strict_option = click.option(
    "--strict/--no-strict",
    default=None,
    help="Fail (exit 1) after reporting every warning: broken links, invalid entries, "
    "unknown curated topics. On by default when the CI environment variable is set.",
)
_no_ingest_option = click.option(
    "--no-ingest", is_flag=True, help="Build from content/papers/ as it is; skip ingesting digests."
)


class _Group(click.Group):
    """The `survey` group: operating-system errors become clear messages, not tracebacks."""

    def invoke(self, ctx: click.Context) -> object:
        """Run the command, reporting a failed read or write with its file."""
        try:
            return super().invoke(ctx)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise SurveyError(f"{where}{exc.strerror or exc}") from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Project folder holding content/, templates/ and site_src/.",
)
@click.version_option(__version__, prog_name="survey")
@click.pass_context
def main(ctx: click.Context, root: Path) -> None:
    """Build a browsable literature-survey site from plain-text paper digests.

    Typical use: drop a digest into content/digests/, run `survey build`, open _site/.
    """
    collect_less_often()
    ctx.obj = load_config(root)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--digest-date",
    callback=_date,
    metavar="YYYY-MM-DD",
    help="The date the digest(s) were captured; dates year-less papers. Remembered in "
    "content/digests.yaml.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary.")
@click.pass_obj
def ingest(
    config: Config, paths: tuple[Path, ...], digest_date: dt.date | None, quiet: bool
) -> None:
    """Parse digests into one YAML entry per paper in content/papers/.

    PATHS default to every digest in content/digests/; files elsewhere are copied there
    with the entries they bring (not after an error). Re-ingesting is a no-op; curated
    fields and any keys you add are never touched.
    """
    from .ingest import ingest as run_ingest

    report = run_ingest(config, list(paths) or None, digest_date, _progress(quiet))
    for line in report.lines():
        click.echo(line)


def _strict_default() -> bool:
    return os.environ.get("CI", "").lower() not in {"", "0", "false", "no"}


@main.command()
@_strict_option
@_no_ingest_option
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: _site/ in the project).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary.")
@click.pass_obj
def build(
    config: Config, strict: bool | None, no_ingest: bool, output: Path | None, quiet: bool
) -> None:
    """Ingest new digests, then build the whole static site.

    The site is modelled completely before anything is written, written to a temporary
    folder, checked (every internal link must resolve) and only then swapped into place:
    a failed build leaves the previous site untouched.
    """
    from .build import build as run_build

    strict = _strict_default() if strict is None else strict
    report = run_build(
        config.with_output(output),
        strict=strict,
        run_ingest=not no_ingest,
        progress=_progress(quiet),
    )
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if report.unchanged:
        click.echo(f"{report.output} is up to date")
    else:
        click.echo(f"built {report.pages} pages ({report.files} files) into {report.output}")


@main.command()
@click.option(
    "--evaluate",
    "labels",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A labels YAML (paper title or slug -> list of topic ids); prints precision, "
    "recall and F1 per topic and macro-averaged.",
)
@click.option(
    "--margin",
    type=float,
    default=None,
    help="How close to a threshold counts as borderline, as a fraction of it "
    "(default: each topic's `scoring.borderline` in topics.yaml).",
)
@click.pass_obj
def topics(config: Config, labels: Path | None, margin: float | None) -> None:
    """Show papers per topic and the borderline papers a curator should review."""
    from .topics_report import evaluate_store, topic_summary

    lines = evaluate_store(config, labels) if labels else topic_summary(config, margin)
    for line in lines:
        click.echo(line)


@main.command()
@_strict_option
@_no_ingest_option
@click.option(
    "--zip",
    "zip_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the zip (default: dist/survey-site.zip in the project).",
)
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write the unzipped site to this folder (replaced if it holds an earlier export).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary.")
@click.pass_obj
def export(
    config: Config,
    strict: bool | None,
    no_ingest: bool,
    zip_path: Path | None,
    folder: Path | None,
    quiet: bool,
) -> None:
    """Build the site and pack it into one zip that works opened from disk, with no server.

    Unzip it anywhere and open index.html: pages, charts, feeds and search all work offline.
    The zip is reproducible (sorted entries, fixed timestamps from SOURCE_DATE_EPOCH).
    """
    from .export import export as run_export

    strict = _strict_default() if strict is None else strict
    zip_path = zip_path or config.root / "dist" / "survey-site.zip"
    report = run_export(
        config, zip_path, folder, strict=strict, run_ingest=not no_ingest, progress=_progress(quiet)
    )
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    where = f" and {report.folder}/" if report.folder else ""
    click.echo(f"exported {report.files} files ({report.size:,} bytes) to {report.zip_path}{where}")


@main.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port on 127.0.0.1; 0 picks a free one (printed).",
)
@click.option(
    "--strict/--no-strict", default=False, help="Treat build warnings as errors while previewing."
)
@click.option("--no-ingest", is_flag=True, help="Do not ingest digests on each rebuild.")
@click.pass_obj
def serve(config: Config, port: int, strict: bool, no_ingest: bool) -> None:
    """Preview the site on http://127.0.0.1:PORT/ and rebuild it on every edit.

    Watches content/, templates/ and site_src/; open pages reload after each rebuild. A
    broken edit prints the error here and the last good build stays online. Ctrl-C stops.
    """
    from .serve import serve as run_serve

    run_serve(
        config,
        port=port,
        strict=strict,
        run_ingest=not no_ingest,
        say=lambda message: click.echo(message, err=True),
        announce=click.echo,
    )


def run() -> None:
    """Run the `survey` command, then end the process without tearing its heap down.

    A build leaves a large heap (the site model, Jinja, numpy); the interpreter's orderly
    exit collects and frees it object by object, which took 0.07 to 0.1 s after every
    build. Once the command has returned, its files are closed and its worker processes
    gone, so only the standard streams need flushing. With another thread still running
    the orderly exit is kept, since it waits for that thread.
    """
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    else:  # pragma: no cover - click's standalone mode always raises SystemExit
        code = 0
    if threading.active_count() > 1 or not isinstance(code, int | None):
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe, a full disk: as Python itself reports it
        sys.exit(code)
    os._exit(code or 0)


if __name__ == "__main__":  # pragma: no cover
    run()

"""Offline export: build the site, then pack it into one deterministic zip for reading from disk.

Pages link to each other with relative paths ending in `.html`, load only their own files
and keep the search index in plain scripts, so the unzipped folder works from `file://`
without a server. The zip is reproducible: sorted entries, one fixed timestamp
(SOURCE_DATE_EPOCH, else 1980-01-01), fixed permissions; it is written atomically.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .build import build
from .config import Config
from .errors import SurveyError

Progress = Callable[[str], None]
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
DIR_MODE = 0o040755


@dataclass
class ExportReport:
    """What an export wrote."""

    zip_path: Path
    folder: Path | None
    files: int
    size: int
    warnings: list[str]


def zip_timestamp() -> tuple[int, int, int, int, int, int]:
    """Return the time stamped on every entry: SOURCE_DATE_EPOCH (UTC, from 1980) or 1980-01-01."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return ZIP_EPOCH
    try:
        when = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise SurveyError(f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix timestamp") from None
    return max(ZIP_EPOCH, when.timetuple()[:6])


def site_files(folder: Path) -> list[Path]:
    """List every file of a built site, sorted by its path inside the site."""
    return sorted(
        (p for p in folder.rglob("*") if p.is_file()),
        key=lambda p: p.relative_to(folder).as_posix(),
    )


def _entry(name: str, mode: int, stamp: tuple[int, ...]) -> zipfile.ZipInfo:
    """Return a zip entry header with a fixed time, system and mode."""
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.create_system = 3  # Unix, so the permission bits below are honoured
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_STORED if name.endswith("/") else zipfile.ZIP_DEFLATED
    return info


def _folders(names: list[str]) -> list[str]:
    """Return every folder entry the file names need, parents first."""
    folders = {name.rsplit("/", 1)[0] + "/" for name in names if "/" in name}
    for folder in list(folders):
        parts = folder.rstrip("/").split("/")
        folders.update("/".join(parts[:i]) + "/" for i in range(1, len(parts)))
    return sorted(folders)


def write_zip(site: Path, dest: Path, top: str) -> int:
    """Write the site into a zip below one top folder, atomically; return the entry count."""
    stamp = zip_timestamp()
    files = {f"{top}/{p.relative_to(site).as_posix()}": p for p in site_files(site)}
    names = sorted([*files, *_folders(list(files))])
    with _atomic(dest) as tmp, zipfile.ZipFile(tmp, "w") as archive:
        for name in names:
            if name in files:
                archive.writestr(
                    _entry(name, FILE_MODE, stamp), files[name].read_bytes(), compresslevel=9
                )
            else:
                archive.writestr(_entry(name, DIR_MODE, stamp), b"")
    return len(files)


@contextlib.contextmanager
def _atomic(dest: Path) -> Iterator[Path]:
    """Yield a temporary path next to dest; rename it over dest only if the block succeeds."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o644)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def copy_folder(site: Path, dest: Path) -> None:
    """Replace dest with a copy of the site (copied aside first, then swapped in)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    old = dest.with_name(f".{dest.name}.old")
    try:
        shutil.copytree(site, tmp, dirs_exist_ok=True)
        tmp.chmod(0o755)
        shutil.rmtree(old, ignore_errors=True)
        if dest.exists():
            os.replace(dest, old)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def check_folder(config: Config, folder: Path) -> None:
    """Refuse a --folder that would replace project files or an unrelated folder."""
    target = folder.resolve()
    inputs = (config.content_dir, config.templates_dir, config.static_dir, config.output_dir)
    if config.root.is_relative_to(target) or any(target.is_relative_to(d) for d in inputs):
        raise SurveyError(
            f"--folder {folder}: refusing to replace project files; pick another folder"
        )
    if target.exists() and (
        not target.is_dir() or (any(target.iterdir()) and not (target / "index.html").is_file())
    ):
        raise SurveyError(
            f"--folder {folder} exists and is not an exported site; pick a new folder"
        )


def export(
    config: Config,
    zip_path: Path,
    folder: Path | None = None,
    *,
    strict: bool = False,
    run_ingest: bool = True,
    progress: Progress = lambda _m: None,
) -> ExportReport:
    """Build the site as `survey build` does, then pack the output folder (and copy it)."""
    if zip_path.resolve().is_relative_to(config.output_dir):
        raise SurveyError(f"--zip {zip_path}: must not be inside the output folder it packs")
    if folder is not None:
        check_folder(config, folder)
    report = build(config, strict=strict, run_ingest=run_ingest, progress=progress)
    progress(f"packing {config.output_dir.name}/ into {zip_path}")
    count = write_zip(config.output_dir, zip_path, zip_path.stem)
    if folder is not None:
        progress(f"copying the site to {folder}")
        copy_folder(config.output_dir, folder)
    return ExportReport(zip_path, folder, count, zip_path.stat().st_size, report.warnings)

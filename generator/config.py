"""The one typed configuration object, with every default in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import ContentError
from .yamlio import load_file

CONFIG_FILE = "survey.yaml"


@dataclass(frozen=True)
class Config:
    """Where things live and how the site is titled; paths are absolute."""

    root: Path
    title: str = "Neural Network Design Survey"
    description: str = "A survey of papers collected from daily paper digests."
    site_url: str = ""  # absolute URL of the hosted site, for feeds; pages never need it
    base_path: str = "/"  # where the hosted site lives; only the 404 page uses it
    content_dir: Path = field(default=Path("content"))
    templates_dir: Path = field(default=Path("templates"))
    static_dir: Path = field(default=Path("site_src"))
    output_dir: Path = field(default=Path("_site"))
    cache_dir: Path = field(default=Path(".survey-cache"))
    newest_count: int = 10
    related_count: int = 5
    feed_size: int = 50
    search_shard_size: int = 2000

    def __post_init__(self) -> None:
        root = self.root.resolve()
        object.__setattr__(self, "root", root)
        for name in ("content_dir", "templates_dir", "static_dir", "output_dir", "cache_dir"):
            object.__setattr__(self, name, root / getattr(self, name))

    @property
    def digests_dir(self) -> Path:
        """Return the folder of digest text files."""
        return self.content_dir / "digests"

    @property
    def papers_dir(self) -> Path:
        """Return the folder of per-paper YAML entries."""
        return self.content_dir / "papers"

    @property
    def topics_file(self) -> Path:
        """Return the topic definitions file."""
        return self.content_dir / "topics.yaml"

    @property
    def ledger_file(self) -> Path:
        """Return the record of ingested digests."""
        return self.content_dir / "digests.yaml"

    @property
    def lock_file(self) -> Path:
        """Return the lock that serialises ingests and builds."""
        return self.content_dir / ".survey.lock"

    def settings(self) -> tuple:
        """Return the settings that shape the pages (everything but where files live)."""
        values = ((f.name, getattr(self, f.name)) for f in fields(self))
        return tuple((name, value) for name, value in values if not isinstance(value, Path))

    def with_output(self, output: Path | None) -> Config:
        """Return a copy writing to another output folder."""
        return self if output is None else replace(self, output_dir=output.resolve())


_KEYS = {
    "title",
    "description",
    "site_url",
    "base_path",
    "newest_count",
    "related_count",
    "feed_size",
}


def load_config(root: Path | None = None) -> Config:
    """Load `survey.yaml` from the project root (optional) over the defaults."""
    root = (root or Path(os.environ.get("SURVEY_ROOT", "."))).resolve()
    path = root / CONFIG_FILE
    if not path.exists():
        return Config(root=root)
    data = load_file(path) or {}
    if not isinstance(data, dict):
        raise ContentError(path, 1, "expected a mapping of settings")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ContentError(path, None, f"unknown setting(s): {', '.join(unknown)}")
    return Config(root=root, **data)

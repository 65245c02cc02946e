"""User-facing errors: each one prints a clear message and exits non-zero, never a traceback."""

from __future__ import annotations

from pathlib import Path

import click


class SurveyError(click.ClickException):
    """Base class for every error a user can cause and fix."""

    exit_code = 1


class LocatedError(SurveyError):
    """An error tied to a place in a file: `path:line: message`."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line else f"{self.path}"
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple:
        """Pickle with the arguments `__init__` takes (errors cross from worker processes)."""
        return type(self), (self.path, self.line, self.reason)


class DigestParseError(LocatedError):
    """A digest file that cannot be read as either layout."""


class ContentError(LocatedError):
    """A hand-edited content file (entry, topics, pages) that is malformed."""


class BuildError(SurveyError):
    """The build found problems (reported together) and wrote nothing."""


class LockedError(SurveyError):
    """Another ingest or build holds the content lock."""

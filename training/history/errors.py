"""Why a history file cannot be previewed or imported."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import DomainError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: a row's cell (line and column), a row, or the whole file."""

    message: str
    line: int | None = None  # the line in the file, counting the header as line 1
    column: str | None = None

    def as_text(self) -> str:
        """'Line 4, status: Status must be ...' for the command line."""
        where = []
        if self.line is not None:
            where.append(f"Line {self.line}")
        if self.column:
            where.append(self.column)
        return f"{', '.join(where)}: {self.message}" if where else self.message


class HistoryImportError(DomainError):
    """A history import was refused."""


class InvalidHistoryFile(HistoryImportError):
    """The file has problems: nothing is imported until every one is fixed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line is not None, p.line or 0))
        file_level = [p for p in self.problems if p.line is None]
        if len(self.problems) == 1 and file_level:
            message = file_level[0].message
        else:
            count = len(self.problems)
            message = (f"The selected file has {count} problem{'s' if count != 1 else ''}: fix "
                       f"{'them' if count != 1 else 'it'} in the spreadsheet and upload the file again")
        super().__init__(message)


class ImportNotFound(HistoryImportError):
    message = "That import could not be found"


class ImportNotPending(HistoryImportError):
    """The preview was already imported or discarded, so it cannot be imported (again)."""

    message = "This file has already been dealt with"


class ImportConflict(HistoryImportError):
    message = ("Someone changed the same records while this file was being imported, so nothing was imported. "
               "Try again")

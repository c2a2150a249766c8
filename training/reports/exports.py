"""The subgroup summary's tables as CSV and as an Excel workbook: pure functions over
`Summary.tables()`.

Decisions:

* CSV is UTF-8 with a byte order mark, so Excel opens names with accents correctly, and
  CRLF line ends (RFC 4180).
* Formula injection: a text cell starting with = + - @, a tab or a carriage return is
  prefixed with an apostrophe in CSV, so a spreadsheet shows it as text instead of running
  it (agency names, course titles and comments are typed by people). In the workbook such a
  cell is stored as text with Excel's "quote prefix" flag: it shows exactly what was typed
  and is never a formula. Numbers are left as numbers.
* Characters that XML 1.0 cannot hold (control characters other than tab and line breaks)
  are dropped in the workbook; Excel could not open the file otherwise.
* Times are London times. Sheet titles are the table titles cut to Excel's 31 characters,
  without the characters Excel refuses, and made unique.
"""
from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ..evaluation.results import Period, Share
from ..tabular import is_formula_like, neutralise
from ..timeutil import to_london
from .summary import Summary

SHEET_TITLE_MAX = 31
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\\/*?:\[\]]")
CSV_MIMETYPE = "text/csv"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Table:
    """One table of the summary, with the name it has in a download's address."""

    slug: str
    title: str
    header: list[str]
    rows: list[list]


def slugify(text: str) -> str:
    """'Attendance by agency' -> 'attendance-by-agency'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "table"


def tables(summary: Summary) -> list[Table]:
    """Every table of the summary, each with a unique slug."""
    found: list[Table] = []
    used: set[str] = set()
    for title, header, rows in summary.tables():
        slug = base = slugify(title)
        number = 2
        while slug in used:
            slug, number = f"{base}-{number}", number + 1
        used.add(slug)
        found.append(Table(slug, title, list(header), [list(row) for row in rows]))
    return found


def find_table(summary: Summary, slug: str) -> Table | None:
    """The table with `slug`, or None."""
    return next((table for table in tables(summary) if table.slug == slug), None)


# ---------------------------------------------------------------------------
# Cell values
# ---------------------------------------------------------------------------

def plain(value: object) -> str | int | float | Decimal | date | datetime | None:
    """A value as a spreadsheet holds it: text, a number, a London date or time, or None."""
    if value is None or isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return to_london(value).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return value
    if isinstance(value, Share):
        return value.percent_label
    if isinstance(value, enum.Enum):
        label = getattr(value, "label", None)
        return label if isinstance(label, str) else str(value.value)
    return str(value)


def csv_text(value: object) -> str:
    """A value as CSV text, with formula-like text neutralised by a leading apostrophe."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------

def csv_bytes(table: Table) -> bytes:
    """The table as CSV: a header row, then its rows."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_text(h) for h in table.header])
    writer.writerows([csv_text(v) for v in row] for row in table.rows)
    return out.getvalue().encode("utf-8-sig")


def sheet_titles(titles: Iterable[str]) -> list[str]:
    """Excel sheet titles for `titles`: at most 31 characters, none Excel refuses, all unique
    (case-insensitively, as Excel compares them)."""
    result: list[str] = []
    used: set[str] = set()
    for title in titles:
        base = " ".join(_SHEET_TITLE_FORBIDDEN.sub(" ", title).split()).strip("'") or "Table"
        candidate, number = base[:SHEET_TITLE_MAX].rstrip(), 2
        while candidate.casefold() in used:
            suffix = f" ({number})"
            candidate, number = base[:SHEET_TITLE_MAX - len(suffix)].rstrip() + suffix, number + 1
        used.add(candidate.casefold())
        result.append(candidate)
    return result


def _xlsx_value(value: object):
    value = plain(value)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def xlsx_bytes(all_tables: Sequence[Table], period: Period) -> bytes:
    """A workbook with one sheet per table: a bold header row, frozen, then the rows."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    for title, table in zip(sheet_titles(t.title for t in all_tables), all_tables, strict=True):
        sheet = workbook.create_sheet(title)
        for column, heading in enumerate(table.header, 1):
            cell = sheet.cell(row=1, column=column, value=_xlsx_value(heading))
            cell.font = bold
        for row_number, row in enumerate(table.rows, 2):
            for column, raw in enumerate(row, 1):
                value = _xlsx_value(raw)
                cell = sheet.cell(row=row_number, column=column)
                cell.value = value
                if isinstance(value, str):
                    # Never a formula, whatever the text starts with.
                    cell.data_type = "s"
                    if is_formula_like(value):
                        cell.quotePrefix = True
                elif isinstance(value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(value, date):
                    cell.number_format = "yyyy-mm-dd"
        sheet.freeze_panes = "A2"
        for column, heading in enumerate(table.header, 1):
            longest = max([len(str(heading))] + [len(str(row[column - 1])) for row in table.rows if len(row) >= column])
            sheet.column_dimensions[get_column_letter(column)].width = min(max(longest + 2, 10), 60)
    if not workbook.sheetnames:
        workbook.create_sheet("Summary")
    workbook.properties.title = f"Subgroup summary {period.first.isoformat()} to {period.last.isoformat()}"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def filename(period: Period, extension: str, slug: str | None = None) -> str:
    """'subgroup-summary-2026-04-01-to-2027-03-31[-slug].ext'."""
    name = f"subgroup-summary-{period.first.isoformat()}-to-{period.last.isoformat()}"
    return f"{name}-{slug}.{extension}" if slug else f"{name}.{extension}"

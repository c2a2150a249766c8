"""The round overview as CSV and Excel.

Text cells that a spreadsheet could read as a formula (starting with = + - @, a tab or a
carriage return) get a leading apostrophe, so an agency named "=HYPERLINK(...)" is shown as
text and never run. Numbers are written as numbers (a fall of 2.5 points is -2.5, not text).
The CSV is UTF-8 with a byte order mark, so Excel shows accented names correctly.
"""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from ..tabular import neutralise
from .services import ComplianceOverview, OverviewRow

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

HEADERS = (
    "Agency", "Status", "Staff in scope", "Trained and in date", "Compliance (%)", "Rating",
    "Last year (%)", "Change (points)", "Response due", "Overdue",
)


guard = neutralise  # a text cell that cannot be taken for a formula; other values unchanged


def _overdue(view: ComplianceOverview, row: OverviewRow) -> str:
    if any(o.row.return_id == row.return_id for o in view.overdue_returns):
        return "Return overdue"
    if any(o.row.return_id == row.return_id for o in view.overdue_responses):
        return "Response overdue"
    return ""


def rows(view: ComplianceOverview) -> list[tuple]:
    """The table: one row per agency, then the partnership's total over submitted returns."""
    out = []
    for row in view.rows:
        percent = row.percent_tenths
        out.append((
            row.agency,
            row.status.label,
            row.in_scope,
            row.trained,
            None if percent is None else percent / 10,
            row.rag.label if row.trained is not None else "",
            None if row.previous_tenths is None else row.previous_tenths / 10,
            None if row.change_tenths is None else row.change_tenths / 10,
            row.response_due_on.isoformat() if row.response_due_on and row.status.value == "challenged" else "",
            _overdue(view, row),
        ))
    total = view.total_in_scope
    out.append((
        "All submitted returns", "", total, view.total_trained,
        None if not total else (1000 * view.total_trained // total) / 10,
        view.total_rag.label if view.submitted_rows else "", None, None, "", "",
    ))
    return out


def overview_csv(view: ComplianceOverview) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows(view):
        writer.writerow(["" if v is None else guard(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def overview_xlsx(view: ComplianceOverview) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"Returns {view.round.year}"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows(view):
        # Excel files cannot hold most control characters: drop them rather than fail.
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in map(guard, row)])
    for column in ("E", "G", "H"):
        for cell in sheet[column][1:]:
            cell.number_format = "0.0"
    sheet.freeze_panes = "A2"
    sheet.column_dimensions["A"].width = 40
    for column in "BCDEFGHIJ":
        sheet.column_dimensions[column].width = 18
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

"""Reading history files: headers, values, London times and the per-row report. No database."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.history.helpers import history_bytes, history_csv, record
from training.accounts.models import Sector
from training.catalogue.models import CourseFormat, SessionKind
from training.evaluation.models import OverallRating
from training.history.errors import InvalidHistoryFile
from training.history.models import RecordStatus
from training.history.parser import COLUMNS, parse

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def problems(data) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(InvalidHistoryFile) as caught:
        parse(data, NOW)
    return [(p.line, p.column, p.message) for p in caught.value.problems]


def only_row(**values):
    [row] = parse(history_bytes(record(**values)), NOW).rows
    return row


def test_a_good_row_is_read_into_typed_values():
    row = only_row(attendee_email=" Ann.Archer@Health.EXAMPLE ", course_title="  Recognising   neglect ",
                   sector="Children's social care", status="Did not attend", rating="", format="Face to face",
                   session_type="WORKSHOP")
    assert row.line == 2
    assert row.attendee_email == "ann.archer@health.example"
    assert row.course_title == "Recognising neglect" and row.course_key == "recognising neglect"
    assert row.sector is Sector.CHILDRENS_SOCIAL_CARE
    assert row.status is RecordStatus.DID_NOT_ATTEND
    assert row.format is CourseFormat.FACE_TO_FACE and row.kind is SessionKind.WORKSHOP
    assert row.rating is None and row.comment is None


@pytest.mark.parametrize("value, expected", [
    ("2024-03-12", datetime(2024, 3, 12, 9, 30, tzinfo=UTC)),  # date only: 9:30am London, GMT in March
    ("2024-06-12", datetime(2024, 6, 12, 8, 30, tzinfo=UTC)),  # 9:30am BST
    ("2024-06-12T13:15", datetime(2024, 6, 12, 12, 15, tzinfo=UTC)),  # naive: London time
    ("2024-06-12 13:15:00", datetime(2024, 6, 12, 12, 15, tzinfo=UTC)),
    ("2024-06-12T13:15Z", datetime(2024, 6, 12, 13, 15, tzinfo=UTC)),  # an offset is honoured
    ("2024-06-12T13:15+02:00", datetime(2024, 6, 12, 11, 15, tzinfo=UTC)),
    ("2024-06-12T13:15-0100", datetime(2024, 6, 12, 14, 15, tzinfo=UTC)),
])
def test_session_start_is_london_time_unless_it_has_an_offset(value, expected):
    assert only_row(session_start=value, session_end="").starts_at == expected


def test_a_session_end_can_be_a_time_on_the_start_day_or_a_date_time():
    assert only_row(session_start="2024-06-12", session_end="12:30").ends_at == datetime(2024, 6, 12, 11, 30, tzinfo=UTC)
    assert only_row(session_start="2024-06-12T09:30",
                    session_end="2024-06-13T16:00").ends_at == datetime(2024, 6, 13, 15, 0, tzinfo=UTC)
    assert only_row(session_end="").ends_at is None


def test_header_is_case_insensitive_and_optional_columns_may_be_left_out():
    columns = [c for c in COLUMNS if c not in ("session_end", "rating", "comment")]
    text = history_csv(record(), columns=columns)
    header, rest = text.split("\r\n", 1)
    shouted = ",".join(f"  {name.upper()} " for name in header.split(","))
    [row] = parse(shouted + "\r\n" + rest, NOW).rows
    assert row.ends_at is None and row.rating is None and row.comment is None


def test_a_utf8_byte_order_mark_is_accepted():
    [row] = parse(b"\xef\xbb\xbf" + history_bytes(record()), NOW).rows
    assert row.course_title == "Recognising neglect"


def test_unknown_columns_are_refused_by_name():
    [(line, column, message)] = problems(history_bytes(record(), columns=(*COLUMNS, "Trainer", "room")))
    assert line is None and column is None
    assert "does not recognise: Trainer, room" in message


def test_missing_columns_are_named():
    [(_, _, message)] = problems(history_bytes(record(), columns=[c for c in COLUMNS if c not in ("agency", "status")]))
    assert message == "The file is missing the columns agency, status"


def test_file_level_problems():
    assert problems(b"") == [(None, None, "The selected file is empty")]
    assert problems(",".join(COLUMNS).encode() + b"\r\n,,,\r\n") == [
        (None, None, "The file has no records: add a row for each person's attendance below the header row")]
    assert problems("Café".join(history_csv(record()).split("Riverside")).encode("cp1252")) == [
        (None, None, "The file must be saved as UTF-8 CSV")]
    assert problems(b"PK\x03\x04\x14\x00 workbook")[0][2].startswith("The selected file must be a CSV file, not a spreadsheet")
    assert "not semicolons" in problems(";".join(COLUMNS).encode())[0][2]
    assert problems(b"session_start\x00,x\r\n")[0][2] == "The selected file must be a CSV file"


def test_every_bad_row_is_reported_with_its_line_and_column():
    data = history_bytes(
        record(),
        record(session_start="31/03/2024", attendee_email="a1@x.example"),  # line 3
        record(status="went", attendee_email="a2@x.example"),  # line 4
        record(comment="Line one\nline two", attendee_email="a3@x.example"),  # lines 5-6: a quoted newline
        record(status="did-not-attend", rating="poor", attendee_email="a4@x.example"),  # line 7
        record(status="late-cancellation", rating="", comment="Sorry", attendee_email="a5@x.example"),  # line 8
        record(session_start="2024-02-30", sector="NHS", attendee_email="not an email"),  # line 9
        record(course_title="", rating="brilliant", attendee_email="a7@x.example"),  # line 10
    )
    assert problems(data) == [
        (3, "session_start", "Enter the session start as a date like 2024-03-31 or 2024-03-31T09:30"),
        (4, "status", "Status must be attended, did-not-attend or late-cancellation"),
        (7, "rating", "Rating is only allowed when the status is attended"),
        (8, "comment", "A comment is only allowed when the status is attended"),
        (9, "session_start", "Session start must be a real date, like 2024-03-31"),
        (9, "attendee_email", "Enter the attendee's email address in the correct format, like name@example.com"),
        (9, "sector", "Sector must be one of: childrens-social-care, education, early-years, health, police, "
                      "probation-justice, housing, voluntary-community, faith, other"),
        (10, "course_title", "Enter the course title"),
        (10, "rating", "Rating must be excellent, good, satisfactory or poor, or left empty"),
    ]


def test_a_duplicate_person_on_a_session_reports_both_lines():
    data = history_bytes(record(), record(attendee_email="bob@x.example"),
                         record(session_start="2024-03-12T09:30", attendee_email="ANN.ARCHER@health.example"))
    assert problems(data) == [(4, "attendee_email", "Line 4 repeats line 2: the same person on the same session. "
                                                    "Delete one of them")]


def test_rows_of_one_session_must_agree_on_its_type_and_end():
    data = history_bytes(record(), record(attendee_email="b@x.example", session_type="workshop",
                                          session_end="2024-03-12T13:00"))
    found = problems(data)
    assert [(line, column) for line, column, _ in found] == [(3, "session_type"), (3, "session_end")]
    assert "line 2 says training" in found[0][2]


def test_the_end_must_follow_the_start_and_the_start_must_be_past():
    assert problems(history_bytes(record(session_end="09:00"))) == [
        (2, "session_end", "The session end must be after the session start")]
    assert problems(history_bytes(record(session_end="2024-03-12"))) == [
        (2, "session_end", "Enter the session end as a date and time like 2024-03-31T12:30, or a time like 12:30")]
    assert problems(history_bytes(record(session_start="2026-12-01", session_end=""))) == [
        (2, "session_start", "The session start must be in the past: only past records can be imported")]


def test_a_time_skipped_when_the_clocks_go_forward_is_a_row_error():
    # 30 March 2025: 1am GMT became 2am BST, so 1:30am never happened in London.
    [(line, column, message)] = problems(history_bytes(record(session_start="2025-03-30T01:30", session_end="")))
    assert (line, column) == (2, "session_start")
    assert message.startswith("Session start 2025-03-30 01:30 did not exist in the UK")
    # With an offset the same wall-clock time is an instant, so it is accepted.
    assert only_row(session_start="2025-03-30T01:30+00:00", session_end="").starts_at == datetime(
        2025, 3, 30, 1, 30, tzinfo=UTC)


def test_a_time_repeated_when_the_clocks_go_back_is_the_first_with_a_warning():
    # 27 October 2024: 2am BST became 1am GMT, so 1:30am happened twice.
    parsed = parse(history_bytes(record(session_start="2024-10-27T01:30", session_end="")), NOW)
    assert parsed.rows[0].starts_at == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)  # 1:30am BST
    [warning] = parsed.warnings
    assert warning.startswith("Line 2: 2024-10-27T01:30 happened twice") and "British Summer Time" in warning
    second = parse(history_bytes(record(session_start="2024-10-27T01:30+00:00", session_end="")), NOW)
    assert second.rows[0].starts_at == datetime(2024, 10, 27, 1, 30, tzinfo=UTC) and not second.warnings


def test_blank_rows_are_skipped_and_line_numbers_still_match_the_file():
    text = history_csv(record()) + ",,,,,,,,,,,\r\n\r\n" + history_csv(record(attendee_email="b@x.example")).split(
        "\r\n", 1)[1]
    rows = parse(text.encode(), NOW).rows
    assert [r.line for r in rows] == [2, 5]


def test_sector_labels_and_ratings_are_accepted_whatever_the_case():
    row = only_row(sector="VOLUNTARY AND COMMUNITY", rating="Excellent", comment="  Very useful  ")
    assert row.sector is Sector.VOLUNTARY_COMMUNITY
    assert row.rating is OverallRating.EXCELLENT and row.comment == "Very useful"


def test_the_same_text_parses_the_same_from_bytes_and_from_stored_text():
    data = history_bytes(record(), record(attendee_email="b@x.example"))
    assert parse(data, NOW).rows == parse(data.decode(), NOW).rows
    assert parse(data, NOW).sha256 == parse(data.decode(), NOW).sha256

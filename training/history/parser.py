"""Reading a history file: one row per attendance record, checked cell by cell. Pure: no database.

Every row is checked and every problem collected, so a coordinator gets one report of all
that is wrong with a file rather than fixing it one error at a time.

Times are Europe/London unless they carry a UTC offset:
- a date on its own (2024-03-31) means 9:30am, when most sessions start;
- a wall-clock time that did not exist because the clocks went forward (1:30am on the last
  Sunday in March) is a problem in that row;
- a wall-clock time that happened twice because the clocks went back (1:30am on the last
  Sunday in October) is taken as the FIRST of the two (British Summer Time), as Python's
  zoneinfo does by default, with a warning; an offset in the file chooses the other one.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from email_validator import EmailNotValidError, validate_email

from ..accounts.models import Sector
from ..catalogue.models import CourseFormat, SessionKind
from ..evaluation.models import OverallRating
from ..evaluation.questions import TEXT_MAX
from ..timeutil import LONDON, format_date, format_time
from .errors import InvalidHistoryFile, Problem
from .models import RecordStatus

#: Every column, in the order the upload page lists them.
COLUMNS = ("session_start", "session_end", "course_title", "session_type", "format", "attendee_name",
           "attendee_email", "agency", "sector", "status", "rating", "comment")
#: Columns a file may leave out altogether (their values are optional too).
OPTIONAL_COLUMNS = frozenset({"session_end", "rating", "comment"})
REQUIRED_COLUMNS = tuple(c for c in COLUMNS if c not in OPTIONAL_COLUMNS)

#: A date-only session start means this London time.
DEFAULT_START = time(9, 30)
NAME_MAX = 200  # course titles, names and agency names, as the tables hold them
EMAIL_MAX = 254

START_FORMAT = "Enter the session start as a date like 2024-03-31 or 2024-03-31T09:30"
END_FORMAT = "Enter the session end as a date and time like 2024-03-31T12:30, or a time like 12:30"
STATUS_VALUES = "Status must be attended, did-not-attend or late-cancellation"
TYPE_VALUES = "Session type must be training or workshop"
FORMAT_VALUES = "Format must be face-to-face, virtual, e-learning or workshop"
RATING_VALUES = "Rating must be excellent, good, satisfactory or poor, or left empty"
SECTOR_VALUES = "Sector must be one of: " + ", ".join(s.value for s in Sector)
EMAIL_FORMAT = "Enter the attendee's email address in the correct format, like name@example.com"
NOT_UTF8 = "The file must be saved as UTF-8 CSV"
NOT_CSV = "The selected file must be a CSV file"

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DATE_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)\s*(Z|[+-]\d{2}(?::?\d{2})?)?",
                        re.IGNORECASE)
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_SEPARATORS = re.compile(r"[\s_]+")
_HEADER_SEPARATORS = re.compile(r"[\s\-]+")

# Signatures of files people upload by mistake, for a message that says what to do instead.
_SPREADSHEET_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
SPREADSHEET = "The selected file must be a CSV file, not a spreadsheet: in Excel choose Save As, then CSV UTF-8"


def _vocabulary(members, extra: dict[str, str] | None = None) -> dict[str, str]:
    words = {_word(m.value): m for m in members}
    words.update({_word(m.label): m for m in members if hasattr(m, "label")})
    for alias, value in (extra or {}).items():
        words[_word(alias)] = words[_word(value)]
    return words


def _word(value: str) -> str:
    """'Did not attend', 'did_not_attend' and 'DID-NOT-ATTEND' all read as 'did-not-attend'."""
    return _SEPARATORS.sub("-", value.strip().lower().replace("\u2019", "'"))


_STATUSES = _vocabulary(RecordStatus, {"late-cancelled": "late-cancellation", "dna": "did-not-attend"})
_KINDS = _vocabulary(SessionKind)
_FORMATS = _vocabulary(CourseFormat, {"face to face": "face-to-face", "online": "virtual", "elearning": "e-learning"})
_RATINGS = _vocabulary(OverallRating)
_SECTORS = _vocabulary(Sector)


def match_key(value: str) -> str:
    """How names are matched: trimmed, spaces collapsed, case ignored."""
    return " ".join(value.split()).casefold()


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One valid row: a person's record at one session."""

    line: int
    starts_at: datetime  # aware UTC
    ends_at: datetime | None  # None: not given on this row
    course_title: str
    kind: SessionKind
    format: CourseFormat
    attendee_name: str
    attendee_email: str  # lower-case, as users.email holds it
    agency: str
    sector: Sector
    status: RecordStatus
    rating: OverallRating | None
    comment: str | None
    course_key: str  # match_key(course_title)
    agency_key: str  # match_key(agency)

    @property
    def session_key(self) -> tuple[str, datetime]:
        return (self.course_key, self.starts_at)


@dataclass(frozen=True)
class ParsedFile:
    """A file whose every row is valid."""

    text: str  # the decoded file, as stored for the import that follows the preview
    sha256: str
    rows: list[HistoryRow]
    warnings: list[str]


class _Bad(Exception):
    """A cell's value is wrong; the message says how to put it right."""


def decode(data: bytes | str) -> str:
    """The file's text: UTF-8, with or without a byte order mark. Raises InvalidHistoryFile."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    if data.startswith(_SPREADSHEET_SIGNATURES):
        raise InvalidHistoryFile([Problem(SPREADSHEET)])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidHistoryFile([Problem(NOT_UTF8)]) from None


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------
# Times
# ---------------------------------------------------------------------------

def _london_instant(wall: datetime, what: str) -> tuple[datetime, bool]:
    """The UTC instant of a London wall-clock time, and whether that time happened twice."""
    first = wall.replace(tzinfo=LONDON, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=LONDON, fold=1).astimezone(UTC)
    if first == second:
        return first, False
    if first.astimezone(LONDON).replace(tzinfo=None) != wall:
        raise _Bad(f"{what} {wall:%Y-%m-%d %H:%M} did not exist in the UK: the clocks went forward an hour "
                   "that night. Check the time, or add its UTC offset, like +00:00")
    return first, True


def _parse_date_time(raw: str, what: str, bad_format: str) -> tuple[datetime, bool, bool]:
    """(UTC instant, date only?, happened twice?) for an ISO 8601 date or date-time."""
    if _DATE.fullmatch(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise _Bad(f"{what} must be a real date, like 2024-03-31") from None
        instant, twice = _london_instant(datetime.combine(day, DEFAULT_START), what)
        return instant, True, twice
    match = _DATE_TIME.fullmatch(raw)
    if match is None:
        raise _Bad(bad_format)
    day_text, clock, offset = match.groups()
    text = f"{day_text}T{clock}"
    if offset:
        offset = "+00:00" if offset.upper() == "Z" else offset
        if len(offset) == 3:
            offset += ":00"
        elif ":" not in offset:
            offset = f"{offset[:3]}:{offset[3:]}"
        text += offset
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _Bad(f"{what} must be a real date and time, like 2024-03-31T09:30") from None
    if value.tzinfo is not None:
        return value.astimezone(UTC), False, False
    instant, twice = _london_instant(value, what)
    return instant, False, twice


def _parse_end(raw: str, starts_at: datetime) -> tuple[datetime, bool]:
    """The end's UTC instant; a time on its own is on the start's (London) day."""
    clock = _TIME.fullmatch(raw)
    if clock is not None:
        hour, minute, second = int(clock[1]), int(clock[2]), int(clock[3] or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise _Bad("Session end must be a real time, like 12:30")
        wall = datetime.combine(starts_at.astimezone(LONDON).date(), time(hour, minute, second))
        return _london_instant(wall, "Session end")
    if _DATE.fullmatch(raw):
        raise _Bad(END_FORMAT)
    instant, _date_only, twice = _parse_date_time(raw, "Session end", END_FORMAT)
    return instant, twice


# ---------------------------------------------------------------------------
# The file
# ---------------------------------------------------------------------------

def _header(cells: list[str]) -> tuple[dict[str, int], list[int], list[Problem]]:
    """Column name -> index, the indexes of blank headings, and any problems with the header."""
    problems: list[Problem] = []
    if len(cells) == 1 and (";" in cells[0] or "\t" in cells[0]):
        separator = "semicolons" if ";" in cells[0] else "tabs"
        return {}, [], [Problem(f"The file must use commas to separate its columns, not {separator}: "
                                "in Excel choose Save As, then CSV UTF-8")]
    index: dict[str, int] = {}
    blank: list[int] = []
    unknown: list[str] = []
    for position, cell in enumerate(cells):
        name = _HEADER_SEPARATORS.sub("_", cell.strip().lower())
        if not name:
            blank.append(position)
        elif name not in COLUMNS:
            unknown.append(cell.strip())
        elif name in index:
            problems.append(Problem(f"The column {name} appears more than once: keep one"))
        else:
            index[name] = position
    if unknown:
        noun = "column" if len(unknown) == 1 else "columns"
        problems.append(Problem(
            f"The file has {'a ' if len(unknown) == 1 else ''}{noun} this import does not recognise: "
            f"{', '.join(unknown)}. Remove {'it' if len(unknown) == 1 else 'them'}, or rename "
            f"{'it' if len(unknown) == 1 else 'them'} to one of: {', '.join(COLUMNS)}"))
    missing = [c for c in REQUIRED_COLUMNS if c not in index]
    if missing:
        noun = "column" if len(missing) == 1 else "columns"
        problems.append(Problem(f"The file is missing the {noun} {', '.join(missing)}"))
    return index, blank, problems


class _RowReader:
    """Checks rows one by one, caching what repeats (a session's start, an agency's sector)."""

    def __init__(self, index: dict[str, int], blank: list[int], width: int, now: datetime) -> None:
        self.index = index
        self.blank = blank
        self.width = width
        self.now = now
        self.starts: dict[str, tuple[datetime, bool, bool] | str] = {}
        self.emails: dict[str, str | None] = {}
        self.twice: dict[str, int] = {}  # raw times that happened twice -> first line
        self.names: dict[str, tuple[str, str]] = {}

    def cell(self, cells: list[str], name: str) -> str:
        position = self.index.get(name)
        if position is None or position >= len(cells):
            return ""
        return cells[position].strip()

    def start(self, raw: str, line: int) -> datetime:
        cached = self.starts.get(raw)
        if cached is None:
            try:
                cached = _parse_date_time(raw, "Session start", START_FORMAT)
                if cached[0] >= self.now:
                    cached = "The session start must be in the past: only past records can be imported"
            except _Bad as bad:
                cached = str(bad)
            self.starts[raw] = cached
        if isinstance(cached, str):
            raise _Bad(cached)
        if cached[2]:
            self.twice.setdefault(raw, line)
        return cached[0]

    def email(self, raw: str) -> str:
        if raw not in self.emails:
            message = None
            if len(raw) > EMAIL_MAX:
                message = f"Attendee email must be {EMAIL_MAX} characters or fewer"
            else:
                try:
                    validate_email(raw, check_deliverability=False)
                except EmailNotValidError:
                    message = EMAIL_FORMAT
            self.emails[raw] = message
        if self.emails[raw]:
            raise _Bad(self.emails[raw])
        return raw.lower()

    def row(self, cells: list[str], line: int, problems: list[Problem]) -> HistoryRow | None:
        """The row's values, or None after adding its problems."""
        found: list[Problem] = []

        def check(column: str, parse):
            try:
                return parse(self.cell(cells, column))
            except _Bad as bad:
                found.append(Problem(str(bad), line, column))
                return None

        if len(cells) > self.width and any(c.strip() for c in cells[self.width:]):
            found.append(Problem(f"This row has more values than the header has columns ({self.width}): "
                                 "check for a stray comma", line))
        for position in self.blank:
            if position < len(cells) and cells[position].strip():
                found.append(Problem(f"Column {position + 1} has a value but no heading: give the column a "
                                     "heading from the list, or delete it", line))

        starts_at = check("session_start", lambda raw: self.start(_required(raw, "Enter the session start"), line))
        ends_at = None
        if starts_at is not None:
            ends_at = check("session_end", lambda raw: self._end(raw, starts_at, line))
        title = check("course_title", lambda raw: _text(raw, "Enter the course title", "Course title"))
        kind = check("session_type", lambda raw: _choice(raw, _KINDS, "Enter the session type: training or "
                                                         "workshop", TYPE_VALUES))
        course_format = check("format", lambda raw: _choice(raw, _FORMATS, "Enter the format: face-to-face, "
                                                            "virtual, e-learning or workshop", FORMAT_VALUES))
        name = check("attendee_name", lambda raw: _text(raw, "Enter the attendee's name", "Attendee name"))
        email = check("attendee_email", lambda raw: self.email(_required(raw, "Enter the attendee's email address")))
        agency = check("agency", lambda raw: _text(raw, "Enter the attendee's agency", "Agency"))
        sector = check("sector", lambda raw: _choice(raw, _SECTORS, "Enter the agency's sector", SECTOR_VALUES))
        status = check("status", lambda raw: _choice(raw, _STATUSES, "Enter the status: attended, did-not-attend "
                                                     "or late-cancellation", STATUS_VALUES))
        rating = check("rating", lambda raw: _choice(raw, _RATINGS, None, RATING_VALUES) if raw else None)
        comment = check("comment", _comment)
        if status is not None and status is not RecordStatus.ATTENDED:
            if rating is not None:
                found.append(Problem("Rating is only allowed when the status is attended", line, "rating"))
            if comment:
                found.append(Problem("A comment is only allowed when the status is attended", line, "comment"))
        if found:
            problems.extend(found)
            return None
        title, course_key = self.name(title)
        agency, agency_key = self.name(agency)
        return HistoryRow(line, starts_at, ends_at, title, kind, course_format, name, email, agency, sector, status,
                          rating, comment or None, course_key, agency_key)

    def name(self, raw: str) -> tuple[str, str]:
        """A course or agency name with its spaces tidied, and its match key (cached: names repeat)."""
        found = self.names.get(raw)
        if found is None:
            tidy = " ".join(raw.split())
            found = self.names[raw] = (tidy, match_key(tidy))
        return found

    def _end(self, raw: str, starts_at: datetime, line: int) -> datetime | None:
        if not raw:
            return None
        ends_at, twice = _parse_end(raw, starts_at)
        if ends_at <= starts_at:
            raise _Bad("The session end must be after the session start")
        if twice:
            self.twice.setdefault(raw, line)
        return ends_at


def _required(raw: str, missing: str) -> str:
    if not raw:
        raise _Bad(missing)
    return raw


def _text(raw: str, missing: str, what: str) -> str:
    if not raw:
        raise _Bad(missing)
    if len(raw) > NAME_MAX:
        raise _Bad(f"{what} must be {NAME_MAX} characters or fewer")
    return raw


def _choice(raw: str, words: dict, missing: str | None, wrong: str):
    if not raw:
        raise _Bad(missing or wrong)
    value = words.get(_word(raw))
    if value is None:
        raise _Bad(wrong)
    return value


def _comment(raw: str) -> str:
    if len(raw) > TEXT_MAX:
        raise _Bad(f"Comment must be {TEXT_MAX} characters or fewer")
    return raw


def _check_sessions(rows: list[HistoryRow], problems: list[Problem]) -> None:
    """Rows of the same session agree on its type and end; a person is on a session once."""
    first_of_session: dict[tuple[str, datetime], HistoryRow] = {}
    ended: dict[tuple[str, datetime], HistoryRow] = {}
    person_line: dict[tuple[str, datetime, str], int] = {}
    for row in rows:
        key = row.session_key
        first = first_of_session.setdefault(key, row)
        if row.kind is not first.kind:
            problems.append(Problem(f"Session type must be the same on every row of a session: line {first.line} "
                                    f"says {first.kind.value} for this session", row.line, "session_type"))
        if row.ends_at is not None:
            earlier = ended.setdefault(key, row)
            if earlier.ends_at != row.ends_at:
                problems.append(Problem(
                    f"Session end must be the same on every row of a session: line {earlier.line} says "
                    f"{format_time(earlier.ends_at)} on {format_date(earlier.ends_at)}", row.line, "session_end"))
        seen = person_line.setdefault((*key, row.attendee_email), row.line)
        if seen != row.line:
            problems.append(Problem(f"Line {row.line} repeats line {seen}: the same person on the same session. "
                                    "Delete one of them", row.line, "attendee_email"))


def parse(data: bytes | str, now: datetime) -> ParsedFile:
    """Read and check a whole file. Raises InvalidHistoryFile listing every problem found."""
    text = decode(data)
    if not text.strip():
        raise InvalidHistoryFile([Problem("The selected file is empty")])
    if "\x00" in text:
        raise InvalidHistoryFile([Problem(NOT_CSV)])
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[Problem] = []
    rows: list[HistoryRow] = []
    try:
        header = next(reader)
        while not any(cell.strip() for cell in header):
            header = next(reader)
        index, blank, header_problems = _header(header)
        if header_problems:
            raise InvalidHistoryFile(header_problems)
        checker = _RowReader(index, blank, len(header), now)
        previous_line = reader.line_num
        data_rows = 0
        for cells in reader:
            line, previous_line = previous_line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # spreadsheets often save empty rows at the end
            data_rows += 1
            row = checker.row(cells, line, problems)
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        raise InvalidHistoryFile([*problems, Problem(f"{NOT_CSV}: line {reader.line_num} could not be read "
                                                     f"({exc})")]) from None
    if data_rows == 0:
        raise InvalidHistoryFile([Problem("The file has no records: add a row for each person's attendance "
                                          "below the header row")])
    _check_sessions(rows, problems)
    if problems:
        raise InvalidHistoryFile(problems)
    warnings = [
        f"Line {line}: {raw} happened twice in the UK, because the clocks went back an hour that night. It is "
        "taken as the first time (British Summer Time). To mean the second, add the offset +00:00"
        for raw, line in sorted(checker.twice.items(), key=lambda item: item[1])
    ]
    return ParsedFile(text=text, sha256=content_hash(text), rows=rows, warnings=warnings)


def session_length(starts_at: datetime, ends_at: datetime) -> int:
    """Whole minutes between start and end, at least 1."""
    return max(1, int((ends_at - starts_at) / timedelta(minutes=1)))

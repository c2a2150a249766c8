"""Catalogue forms: they read what was typed; the services decide whether it is allowed."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, time

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovDateInput,
    GovRadioInput,
    GovSelect,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, Field, Form, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, StopValidation, ValidationError

from ..timeutil import london_to_utc, to_london
from .models import CourseFormat, Level, SessionKind, Theme
from .services import (
    DEFAULT_CLOSE_TIME,
    CatalogueFilters,
    CourseDetails,
    SessionDetails,
    SessionDraft,
    default_booking_close,
    default_session_kind,
)

_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")
_WHOLE_NUMBER = re.compile(r"^-?\d{1,9}$")


# ---------------------------------------------------------------------------
# Fields
# ---------------------------------------------------------------------------

class WholeNumberField(StringField):
    """A whole number typed into a text box; `data` is an int or None when blank."""

    widget = GovTextInput()

    def __init__(self, label=None, validators=None, invalid_message: str = "Enter a whole number", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.invalid_message = invalid_message

    def process_formdata(self, valuelist):
        self.data = None
        text = (valuelist[0] if valuelist else "").strip().replace(",", "")
        if not text:
            self.raw_data = []  # spaces or commas alone count as not answered
            return
        if not _WHOLE_NUMBER.match(text):
            raise ValueError(self.invalid_message)
        self.data = int(text)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


class TimeOfDayField(StringField):
    """A 24-hour clock time like 09:30 (or 9.30); `data` is a time or None when blank."""

    widget = GovTextInput()

    def __init__(self, label=None, validators=None, invalid_message: str = "Enter a real time, like 09:30 or 14:00",
                 **kwargs):
        super().__init__(label, validators, **kwargs)
        self.invalid_message = invalid_message

    def process_formdata(self, valuelist):
        self.data = None
        text = (valuelist[0] if valuelist else "").strip()
        if not text:
            self.raw_data = []  # spaces alone count as not answered
            return
        match = _TIME.match(text)
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            raise ValueError(self.invalid_message)
        self.data = time(int(match[1]), int(match[2]))

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else self.data.strftime("%H:%M")


class GovDateField(Field):
    """Day, month and year boxes with GOV.UK error messages; `data` is a date or None when blank.

    `name_in_errors` starts each message, as in "Date must be a real date".
    """

    widget = GovDateInput()

    def __init__(self, label=None, validators=None, *, name_in_errors: str = "Date",
                 required_message: str | None = None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.name_in_errors = name_in_errors
        self.required_message = required_message

    def process_formdata(self, valuelist):
        # Always three parts, so the widget can redisplay whatever was typed.
        parts = [str(v).strip() for v in (list(valuelist) + ["", "", ""])[:3]]
        self.raw_data = parts
        self.data = None
        if not any(parts):
            return
        missing = [name for name, value in zip(("day", "month", "year"), parts, strict=True) if not value]
        if missing:
            raise ValueError(f"{self.name_in_errors} must include a {' and '.join(missing)}")
        if not all(p.isdigit() for p in parts):
            raise ValueError(f"{self.name_in_errors} must be a real date")
        if len(parts[2]) != 4:
            raise ValueError("Year must include 4 numbers")
        try:
            self.data = date(int(parts[2]), int(parts[1]), int(parts[0]))
        except (ValueError, OverflowError):  # a day like 99999999999999999999 overflows a C int
            raise ValueError(f"{self.name_in_errors} must be a real date") from None

    def pre_validate(self, form):
        if self.required_message and self.data is None and not self.process_errors:
            raise StopValidation(self.required_message)

    def _value(self):
        return self.data


def _one_of(values: Iterable[str], message: str):
    allowed = frozenset(values)

    def check(_form, field):
        data = field.data if isinstance(field.data, list) else [field.data]
        if any(v not in allowed for v in data):
            raise ValidationError(message)

    return check


def _at_least_one(message: str):
    def check(_form, field):
        data = field.data if isinstance(field.data, list) else [field.data]
        if not [v for v in data if v]:
            raise StopValidation(message)

    return check


def _number_between(low: int, high: int, message: str):
    def check(_form, field):
        if field.data is not None and not low <= field.data <= high:
            raise ValidationError(message)

    return check


def _wall_clock_problem(day: date, at: time) -> str | None:
    """A message when `at` does not exist in London on `day` (the hour the clocks go forward)."""
    instant = london_to_utc(day, at)
    if to_london(instant).time() != at:
        return (f"{at:%H:%M} does not exist on {day.day} {day:%B %Y} because the clocks go forward. "
                "Enter a different time")
    return None


class _ServiceErrorsMixin:
    """Puts the services' rule errors (InvalidDetails.errors) next to the right fields."""

    #: service key -> form field name, where they differ
    error_fields: Mapping[str, str] = {}

    def add_errors(self, errors: Mapping[str, str]) -> None:
        for key, message in errors.items():
            field = getattr(self, self.error_fields.get(key, key), None)
            if field is None:
                continue
            field.errors = [*field.errors, message]


# ---------------------------------------------------------------------------
# Courses
# ---------------------------------------------------------------------------

LEVEL_CHOICES = [SelectChoice(level.value, level.label) for level in Level]
FORMAT_CHOICES = [SelectChoice(fmt.value, fmt.label) for fmt in CourseFormat]
THEME_CHOICES = [SelectChoice(theme.value, theme.label) for theme in Theme]
KIND_CHOICES = [SelectChoice(kind.value, kind.label) for kind in SessionKind]


class CourseForm(_ServiceErrorsMixin, FlaskForm):
    """A course's details."""

    error_fields = {"duration": "duration_hours"}

    title = StringField("Course title", widget=GovTextInput(),
                        validators=[InputRequired("Enter the course title")])
    summary = TextAreaField("Summary", widget=GovTextArea(),
                            description="What the course covers and who should attend",
                            validators=[InputRequired("Enter a summary of the course")])
    learning_outcomes = TextAreaField("Learning outcomes", widget=GovTextArea(),
                                      description="Put each learning outcome on a new line",
                                      validators=[InputRequired("Enter at least one learning outcome")])
    level = RadioField("Level", choices=LEVEL_CHOICES, widget=GovRadioInput(), validate_choice=False,
                       validators=[InputRequired("Select the level of the course"),
                                   _one_of([c.value for c in LEVEL_CHOICES], "Select the level of the course")])
    format = RadioField("Format", choices=FORMAT_CHOICES, widget=GovRadioInput(), validate_choice=False,
                        validators=[InputRequired("Select the format of the course"),
                                    _one_of([c.value for c in FORMAT_CHOICES], "Select the format of the course")])
    duration_hours = WholeNumberField("Hours", invalid_message="Hours must be a whole number, like 3",
                                      validators=[_number_between(0, 100, "Hours must be between 0 and 100")])
    duration_minutes = WholeNumberField("Minutes", invalid_message="Minutes must be a whole number, like 30",
                                        validators=[_number_between(0, 59, "Minutes must be between 0 and 59")])
    themes = SelectMultipleField("Priority themes", choices=THEME_CHOICES, widget=GovCheckboxesInput(),
                                 validate_choice=False, description="Select all that apply",
                                 validators=[_at_least_one("Select at least one priority theme"),
                                             _one_of([c.value for c in THEME_CHOICES],
                                                     "Select priority themes from the list")])
    refresher_months = WholeNumberField(
        "Refresher interval in months (optional)",
        description="How often people should repeat this course, for example 36 for every 3 years",
        invalid_message="Refresher interval must be a whole number of months, like 36",
        validators=[_number_between(1, 120, "Refresher interval must be between 1 and 120 months")],
    )
    draft = BooleanField("Keep this course out of the catalogue for now (a draft)", widget=GovCheckboxInput(),
                         description="People cannot find or book a draft course. Untick this to publish it.")
    requires_approval = BooleanField(
        "Bookings need the line manager's approval", widget=GovCheckboxInput(),
        description="When someone books themselves, we email their line manager a link to approve or decline "
                    "the booking. Bookings a coordinator makes do not need approval.")

    def validate_duration_hours(self, field):
        if field.data is None and self.duration_minutes.data is None and not field.process_errors \
                and not self.duration_minutes.process_errors:
            raise StopValidation("Enter how long the course lasts")

    def fill_from(self, course) -> None:
        """Show a saved course's details."""
        self.title.data = course.title
        self.summary.data = course.summary
        self.learning_outcomes.data = course.learning_outcomes
        self.level.data = course.level.value
        self.format.data = course.format.value
        self.duration_hours.data, self.duration_minutes.data = divmod(course.duration_minutes, 60)
        self.themes.data = [t.value for t in course.themes]
        self.refresher_months.data = course.refresher_months
        self.draft.data = not course.active
        self.requires_approval.data = course.requires_approval

    def details(self) -> CourseDetails:
        """The validated input, for the services."""
        return CourseDetails(
            title=self.title.data or "",
            summary=self.summary.data or "",
            learning_outcomes=self.learning_outcomes.data or "",
            level=Level(self.level.data),
            format=CourseFormat(self.format.data),
            duration_minutes=(self.duration_hours.data or 0) * 60 + (self.duration_minutes.data or 0),
            themes=tuple(Theme(t) for t in self.themes.data),
            refresher_months=self.refresher_months.data,
            active=not self.draft.data,
            requires_approval=bool(self.requires_approval.data),
        )


# ---------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------

class SessionForm(_ServiceErrorsMixin, FlaskForm):
    """A session's date, times, place, capacity, trainers and booking close; times in London."""

    error_fields = {
        "starts_at": "date",
        "ends_at": "end_time",
        "trainer_ids": "trainers",
        "booking_closes_at": "closes_date",
    }

    kind = RadioField("Type of session", choices=KIND_CHOICES, widget=GovRadioInput(), validate_choice=False,
                      description="Annual reports count training sessions and workshops separately",
                      validators=[InputRequired("Select the type of session"),
                                  _one_of([c.value for c in KIND_CHOICES], "Select the type of session")])
    date = GovDateField("Date", name_in_errors="Date", required_message="Enter the date of the session")
    start_time = TimeOfDayField("Start time", description="Use the 24-hour clock, for example 09:30",
                                invalid_message="Start time must be a real time, like 09:30 or 14:00",
                                validators=[InputRequired("Enter the start time")])
    end_time = TimeOfDayField("End time", description="Use the 24-hour clock, for example 16:00",
                              invalid_message="End time must be a real time, like 09:30 or 14:00",
                              validators=[InputRequired("Enter the end time")])
    venue = TextAreaField("Venue address", widget=GovTextArea(),
                          description="Needed for face-to-face sessions and workshops")
    online_link = StringField("Online joining link", widget=GovTextInput(),
                              description="Needed for virtual sessions and e-learning. It must start with https://. "
                                          "Only people with a confirmed place, trainers and coordinators will see it")
    capacity = WholeNumberField("Number of places", invalid_message="Number of places must be a whole number, like 20",
                                validators=[InputRequired("Enter the number of places"),
                                            _number_between(1, 1000, "Number of places must be between 1 and 1,000")])
    trainers = SelectMultipleField("Trainers", widget=GovCheckboxesInput(), validate_choice=False,
                                   description="Select all that apply")
    closes_date = GovDateField("Date booking closes (optional)", name_in_errors="Date booking closes",
                               description="Leave blank to close booking at 11:59pm the day before the session")
    closes_time = TimeOfDayField("Time booking closes (optional)",
                                 description="Use the 24-hour clock. Leave blank for 23:59",
                                 invalid_message="Time booking closes must be a real time, like 09:30 or 14:00")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A hint year that is never in the past.
        self.date.description = f"For example, 27 3 {date.today().year + 1}"

    def preselect_kind(self, course) -> None:
        """Offer a new session as the type its course usually runs (a workshop-format course: Workshop)."""
        if self.kind.data is None:
            self.kind.data = default_session_kind(course).value

    def set_trainer_choices(self, people) -> None:
        """The trainers offered, as checkboxes."""
        self.trainers.choices = [SelectChoice(str(p.id), p.name) for p in people]

    def validate_trainers(self, field):
        allowed = {choice.value for choice in self.trainers.choices or []}
        if any(v not in allowed for v in field.data or []):
            raise ValidationError("Select trainers from the list")

    def validate_start_time(self, field):
        if self.date.data and field.data and (problem := _wall_clock_problem(self.date.data, field.data)):
            raise ValidationError(problem)

    def validate_end_time(self, field):
        if self.date.data and field.data and (problem := _wall_clock_problem(self.date.data, field.data)):
            raise ValidationError(problem)

    def validate_closes_date(self, field):
        if field.data is None and self.closes_time.data is not None and not field.process_errors:
            raise ValidationError("Enter the date booking closes, or leave the time blank")

    def validate_closes_time(self, field):
        if self.closes_date.data and field.data and (
                problem := _wall_clock_problem(self.closes_date.data, field.data)):
            raise ValidationError(problem)

    def fill_from(self, session) -> None:
        """Show a saved session's details in London time."""
        start, end = to_london(session.starts_at), to_london(session.ends_at)
        self.kind.data = session.kind.value
        self.date.data = start.date()
        self.start_time.data = start.time()
        self.end_time.data = end.time()
        self.venue.data = session.venue
        self.online_link.data = session.online_link
        self.capacity.data = session.capacity
        self.trainers.data = [str(t.id) for t in session.trainers]
        # A default close date is left blank so it follows the session if the date changes.
        if session.booking_closes_at != default_booking_close(session.starts_at):
            closes = to_london(session.booking_closes_at)
            self.closes_date.data = closes.date()
            self.closes_time.data = closes.time()

    def fill_from_draft(self, draft: SessionDraft) -> None:
        """Pre-fill a new session from a copied one, leaving the date for the coordinator."""
        self.kind.data = draft.kind.value
        self.start_time.data = draft.start_time
        self.end_time.data = draft.end_time
        self.venue.data = draft.venue
        self.online_link.data = draft.online_link
        self.capacity.data = draft.capacity
        self.trainers.data = [str(i) for i in draft.trainer_ids]

    def details(self) -> SessionDetails:
        """The validated input as UTC instants, for the services."""
        day = self.date.data
        closes = None
        if self.closes_date.data is not None:
            closes = london_to_utc(self.closes_date.data, self.closes_time.data or DEFAULT_CLOSE_TIME)
        return SessionDetails(
            starts_at=london_to_utc(day, self.start_time.data),
            ends_at=london_to_utc(day, self.end_time.data),
            capacity=self.capacity.data,
            kind=SessionKind(self.kind.data),
            venue=self.venue.data,
            online_link=self.online_link.data,
            trainer_ids=tuple(int(v) for v in self.trainers.data or []),
            booking_closes_at=closes,
        )


class CancelSessionForm(_ServiceErrorsMixin, FlaskForm):
    """The reason a session is cancelled."""

    reason = TextAreaField("Why is the session being cancelled?", widget=GovTextArea(),
                           description="People with a booking or waiting list place will see this",
                           validators=[InputRequired("Enter the reason for cancelling the session")])


# ---------------------------------------------------------------------------
# Public catalogue filters
# ---------------------------------------------------------------------------

class CatalogueFilterForm(Form):
    """The catalogue's GET filters. Values that are not on offer are ignored, never an error."""

    theme = SelectMultipleField("Priority theme", choices=THEME_CHOICES, widget=GovCheckboxesInput(),
                                validate_choice=False)
    format = SelectMultipleField("Format", choices=FORMAT_CHOICES, widget=GovCheckboxesInput(),
                                 validate_choice=False)
    month = SelectField("Month", widget=GovSelect(), validate_choice=False)
    available = BooleanField("Only show sessions with places available", widget=GovCheckboxInput())

    def __init__(self, formdata, months: Iterable[date]):
        super().__init__(formdata)
        months = list(months)
        self.month.choices = [SelectChoice("", "Any month")] + [
            SelectChoice(m.strftime("%Y-%m"), f"{m:%B %Y}") for m in months]
        self._months = {m.strftime("%Y-%m"): m for m in months}

    def filters(self) -> CatalogueFilters:
        """The filters chosen, leaving out anything not offered (a stale or mistyped link)."""
        themes = {t.value: t for t in Theme}
        formats = {f.value: f for f in CourseFormat}
        return CatalogueFilters(
            themes=tuple(themes[v] for v in dict.fromkeys(self.theme.data or []) if v in themes),
            formats=tuple(formats[v] for v in dict.fromkeys(self.format.data or []) if v in formats),
            month=self._months.get(self.month.data or ""),
            available_only=bool(self.available.data),
        )

    @staticmethod
    def query_args(filters: CatalogueFilters) -> dict:
        """URL arguments that reproduce `filters`, for pagination links."""
        args: dict = {}
        if filters.themes:
            args["theme"] = [t.value for t in filters.themes]
        if filters.formats:
            args["format"] = [f.value for f in filters.formats]
        if filters.month:
            args["month"] = filters.month.strftime("%Y-%m")
        if filters.available_only:
            args["available"] = "y"
        return args

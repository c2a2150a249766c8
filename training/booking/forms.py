"""Forms for transferring a place, the coordinators' booking pages and the manager's approval page."""
from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Email, InputRequired, Length, ValidationError

from ..timeutil import format_datetime

_EMAIL_FORMAT = "Enter an email address in the correct format, like name@example.com"


def _email_validators(missing: str) -> list:
    return [
        InputRequired(message=missing),
        Length(max=254, message="Email address must be 254 characters or fewer"),
        Email(message=_EMAIL_FORMAT, check_deliverability=False),
    ]


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class TransferForm(FlaskForm):
    """The colleague who should have the place."""

    colleague_email = StringField(
        "Your colleague's work email address",
        description="They must work for the same agency as you and already have an account.",
        widget=GovTextInput(),
        filters=[_strip],
        validators=_email_validators("Enter your colleague's work email address"),
    )
    submit = SubmitField("Transfer place", widget=GovSubmitInput())


class BookOnBehalfForm(FlaskForm):
    """A coordinator books someone on the session."""

    email = StringField(
        "Work email address of the person to book",
        description="They must already have an account.",
        widget=GovTextInput(),
        filters=[_strip],
        validators=_email_validators("Enter the work email address of the person to book"),
    )
    overbook = BooleanField("Overbook if the session is full", widget=GovCheckboxInput())
    submit = SubmitField("Book place", widget=GovSubmitInput())


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def session_choice_label(session) -> str:
    """'Course title – Tuesday 3 March 2026, 9:30am (4 places left)' for a session list."""
    if session.places_left > 0:
        places = f"{session.places_left} place{'s' if session.places_left != 1 else ''} left"
    else:
        places = "full"
    return f"{session.course.title} – {format_datetime(session.starts_at)} ({places})"


class MoveForm(FlaskForm):
    """A coordinator picks the session to move a booking to."""

    _CHOOSE = "Select the session to move the booking to"

    session_id = SelectField(
        "Session to move to",
        description="Upcoming sessions of any course.",
        coerce=_int_or_none,
        widget=GovSelect(),
        validators=[InputRequired(message=_CHOOSE)],
        validate_choice=False,  # checked below, with a GOV.UK message
    )
    overbook = BooleanField("Overbook if the session is full", widget=GovCheckboxInput())
    submit = SubmitField("Move booking", widget=GovSubmitInput())

    def __init__(self, *args, sessions: list | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.session_id.choices = [("", "Choose a session")] + [
            (s.id, session_choice_label(s)) for s in (sessions or [])
        ]

    def validate_session_id(self, field: SelectField) -> None:
        if field.data is None or field.data not in {value for value, _ in field.choices[1:]}:
            raise ValidationError(self._CHOOSE)


REASON_MAX = 500


class ApproveForm(FlaskForm):
    """The manager approves the booking (the form only carries the CSRF token)."""

    submit = SubmitField("Approve booking", widget=GovSubmitInput())


class DeclineForm(FlaskForm):
    """The manager declines the booking, optionally saying why."""

    reason = TextAreaField(
        "Reason (optional)",
        description="We will pass this on to them. Do not include anything about a child or family.",
        widget=GovTextArea(),
        filters=[_strip],
        validators=[Length(max=REASON_MAX, message=f"Reason must be {REASON_MAX} characters or fewer")],
    )
    submit = SubmitField("Decline booking", widget=GovSubmitInput())

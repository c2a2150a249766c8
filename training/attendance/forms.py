"""Forms for taking a register and adding walk-ins."""
from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSelect, GovTextInput
from wtforms import Field, RadioField, SelectChoice, SelectField, StringField
from wtforms.utils import unset_value
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from ..db import MAX_ID
from .models import AttendanceOutcome

#: Each booked person's radio group on the register is named `booking-<booking id>`.
MARK_PREFIX = "booking-"
_UNRECOGNISED = "Something on the register was not recognised: refresh the page and try again"


class MarksField(Field):
    """The register's radio groups, parsed to {booking_id: outcome}.

    The register template renders the radios itself as one table (a macro per row is slow
    on a page with thirty people); this field only reads what was posted. Unmarked people
    send nothing and are left as they were.
    """

    def process(self, formdata, data=unset_value, extra_filters=None) -> None:
        self.process_errors = []
        self.object_data = None
        self.raw_data = []
        self.data = {}
        if formdata is None:
            return
        for key in formdata:
            if not key.startswith(MARK_PREFIX):
                continue
            self.raw_data.append(key)
            raw_id = key[len(MARK_PREFIX):]
            values = formdata.getlist(key)
            if not (raw_id.isascii() and raw_id.isdigit()) or int(raw_id) > MAX_ID or len(values) != 1:
                self.process_errors.append(_UNRECOGNISED)
                continue
            try:
                self.data[int(raw_id)] = AttendanceOutcome(values[0])
            except ValueError:
                self.process_errors.append("Select attended, partially attended or did not attend for each person")
        # One message is enough however many fields were tampered with.
        self.process_errors = self.process_errors[:1]


class RegisterForm(FlaskForm):
    """The register: an outcome for each booked person."""

    marks = MarksField("Attendance")


class WalkInForm(FlaskForm):
    """Someone who came to the session without a booking."""

    name = StringField(
        "Full name",
        validators=[
            DataRequired("Enter the person's full name"),
            Length(max=200, message="Full name must be 200 characters or fewer"),
        ],
        widget=GovTextInput(),
    )
    email = StringField(
        "Email address (optional)",
        description="If they have an account, we add this session to their training record",
        validators=[
            Optional(),
            Length(max=254, message="Email address must be 254 characters or fewer"),
            Email("Enter an email address in the correct format, like name@example.com"),
        ],
        widget=GovTextInput(),
    )
    agency = SelectField(
        "Agency",
        description="You can leave this if their email address belongs to an account: we use the agency on it",
        choices=[],
        validate_choice=False,
        widget=GovSelect(),
    )
    outcome = RadioField(
        "Did they attend the whole session?",
        choices=[SelectChoice(AttendanceOutcome.ATTENDED.value, "Yes, they attended"),
                 SelectChoice(AttendanceOutcome.PARTIAL.value, "No, they partially attended")],
        default=AttendanceOutcome.ATTENDED.value,
        validate_choice=False,
        widget=GovRadioInput(),
    )

    def set_agencies(self, agencies) -> None:
        """The active agencies, by name, after a blank first choice."""
        self.agency.choices = [SelectChoice("", "Select an agency")] + [
            SelectChoice(str(a.id), a.name) for a in agencies]

    def validate_agency(self, field: SelectField) -> None:
        if field.data and field.data not in {choice.value for choice in field.choices}:
            raise ValidationError("Select an agency from the list")
        # Without an email there can be no account to take the agency from. With one, the
        # service decides, as only it looks accounts up.
        if not field.data and not (self.email.data or "").strip():
            raise ValidationError("Select the person's agency")

    def validate_outcome(self, field: RadioField) -> None:
        if field.data not in {AttendanceOutcome.ATTENDED.value, AttendanceOutcome.PARTIAL.value}:
            raise ValidationError("Select whether they attended the whole session")

    @property
    def agency_id(self) -> int | None:
        return int(self.agency.data) if self.agency.data else None

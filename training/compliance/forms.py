"""Forms for compliance returns: they read what was typed; the services decide what is allowed."""
from __future__ import annotations

import re

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovCheckboxesInput, GovTextArea, GovTextInput
from wtforms import Field, HiddenField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, StopValidation, ValidationError

from ..catalogue.forms import GovDateField
from ..catalogue.models import Level
from .models import LEVELS, NOTES_MAX, TEXT_MAX, AgencyReturn
from .services import FIRST_YEAR, LAST_YEAR, LineFigures, Narrative, field_name, figure_errors

_DIGITS = re.compile(r"^\d{1,9}$")
_TOO_LONG = f"must be {TEXT_MAX:,} characters or fewer"


class FigureField(StringField):
    """A count typed into a text box: `data` is an int, None when blank; anything else is an error."""

    widget = GovTextInput()

    def __init__(self, label=None, validators=None, *, invalid_message: str, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.invalid_message = invalid_message

    def process_formdata(self, valuelist):
        self.data = None
        text = (valuelist[0] if valuelist else "").strip().replace(",", "")
        self.raw_data = [text] if text else []
        if not text:
            return
        # isascii: '٣' and '²' pass str.isdigit() but are not what anyone means by a count.
        if not (text.isascii() and _DIGITS.match(text)):
            raise ValueError(self.invalid_message)
        self.data = int(text)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


_PARTS = (
    ("staff_in_scope", "Staff in scope", "staff in scope"),
    ("trained_in_date", "Trained and in date", "staff trained and in date"),
    ("courses_delivered", "Courses delivered in the year", "courses delivered"),
)


class ReturnForm(FlaskForm):
    """The proforma: figures per level (fields added below, one set per level) and the narrative.

    `action` is the button pressed: "save" keeps a draft, "submit" saves and goes on to check
    and confirm the submission.
    """

    version = HiddenField()
    action = HiddenField()
    quality_and_impact = TextAreaField(
        "How do you evaluate the quality and impact of your safeguarding training?",
        description="For example, evaluation forms, follow-up with line managers, audits of practice or supervision",
        validators=[Length(max=TEXT_MAX, message=f"This {_TOO_LONG}")], widget=GovTextArea(),
    )
    gaps_and_plans = TextAreaField(
        "What gaps in training have you found, and what are your plans to close them?",
        validators=[Length(max=TEXT_MAX, message=f"This {_TOO_LONG}")], widget=GovTextArea(),
    )

    @property
    def submitting(self) -> bool:
        return self.action.data == "submit"

    @property
    def expected_version(self) -> int | None:
        text = (self.version.data or "").strip()
        return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None

    def level_fields(self, level: Level) -> dict[str, Field]:
        return {part: self[field_name(level, part)] for part, _label, _what in _PARTS} | {
            "notes": self[field_name(level, "notes")]}

    def lines(self) -> dict[Level, LineFigures]:
        return {level: LineFigures(*(self[field_name(level, part)].data for part, _l, _w in _PARTS),
                                   notes=self[field_name(level, "notes")].data)
                for level in LEVELS}

    def narrative(self) -> Narrative:
        return Narrative(self.quality_and_impact.data, self.gaps_and_plans.data)

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        # The same rules as the service (with completeness when the lead is about to submit),
        # checked even when a box could not be read, so every problem is listed at once.
        errors = {name: message
                  for name, message in figure_errors(self.lines(), self.narrative(), complete=self.submitting).items()
                  if not (name in self._fields and self[name].errors)}
        self.add_errors(errors)
        return ok and not errors

    def add_errors(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            if name in self._fields:
                self[name].errors = [*self[name].errors, message]

    def fill(self, agency_return: AgencyReturn) -> None:
        """Show the saved figures (on a GET, or after a refused save)."""
        for line in agency_return.lines:
            for part in (*(p for p, _l, _w in _PARTS), "notes"):
                f = self[field_name(line.level, part)]
                f.data = getattr(line, part)
                f.raw_data = []
        self.quality_and_impact.data = agency_return.quality_and_impact
        self.gaps_and_plans.data = agency_return.gaps_and_plans
        self.version.data = str(agency_return.version)


def _notes_length(_form, field) -> None:
    if field.data and len(field.data) > NOTES_MAX:
        raise ValidationError(f"Notes must be {NOTES_MAX} characters or fewer")


for _level in LEVELS:
    for _part, _label, _what in _PARTS:
        setattr(ReturnForm, field_name(_level, _part), FigureField(
            f"{_level.label}: {_label.lower()}",
            invalid_message=f"Enter the number of {_what} for {_level.label}, as a whole number",
        ))
    setattr(ReturnForm, field_name(_level, "notes"), StringField(
        f"{_level.label}: notes (optional)", widget=GovTextInput(),
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[Length(max=NOTES_MAX, message=f"Notes for {_level.label} must be {NOTES_MAX} characters or fewer")],
    ))
del _level, _part, _label, _what

PART_LABELS = {part: label for part, label, _what in _PARTS}


class ChallengeForm(FlaskForm):
    """The Independent Scrutineer's challenge and the date a response is due."""

    text = TextAreaField(
        "Your challenge",
        description="What the agency should explain or do, for example about low compliance or a gap in provision",
        validators=[Length(max=TEXT_MAX, message=f"Your challenge {_TOO_LONG}")], widget=GovTextArea(),
    )
    response_due_on = GovDateField("Response due by", name_in_errors="The date the response is due",
                                   required_message="Enter the date the response is due",
                                   description="For example, 27 3 2026")

    def validate_text(self, field) -> None:
        if not (field.data or "").strip():
            raise StopValidation("Enter your challenge")


class ResponseForm(FlaskForm):
    """The agency lead's response to a challenge."""

    text = TextAreaField(
        "Your response",
        description="Answer each point of the challenge, with what you will do and by when",
        validators=[Length(max=TEXT_MAX, message=f"Your response {_TOO_LONG}")], widget=GovTextArea(),
    )

    def validate_text(self, field) -> None:
        if not (field.data or "").strip():
            raise StopValidation("Enter your response to the challenge")


class ReopenForm(FlaskForm):
    """A coordinator reopens a submitted return for correction."""

    reason = TextAreaField(
        "Why is the return being reopened?",
        description="The agency's lead and the Independent Scrutineer will see this in the return's history",
        validators=[Length(max=TEXT_MAX, message=f"The reason {_TOO_LONG}")], widget=GovTextArea(),
    )

    def validate_reason(self, field) -> None:
        if not (field.data or "").strip():
            raise StopValidation("Enter why the return is being reopened")


class AgencyChoiceField(SelectMultipleField):
    """Checkboxes of agencies; validated by hand so a tampered value gets a message, not a crash."""

    widget = GovCheckboxesInput()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validate_choice", False)
        super().__init__(*args, **kwargs)

    def pre_validate(self, form) -> None:
        values = [v for v in (self.data or []) if v]
        if not values:
            raise StopValidation("Select at least one agency")
        allowed = {str(value) for value, _label in self.choices}
        if any(v not in allowed for v in values):
            raise StopValidation("Select agencies from the list")

    @property
    def ids(self) -> list[int]:
        return [int(v) for v in self.data or [] if v]


class OpenRoundForm(FlaskForm):
    """A coordinator opens the yearly round."""

    year = StringField(
        "Financial year starting in April of",
        description="For example, 2025 for the year from April 2025 to March 2026",
        widget=GovTextInput(), filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    due_on = GovDateField("Returns due by", name_in_errors="The date returns are due",
                          required_message="Enter the date returns are due", description="For example, 30 6 2026")
    agencies = AgencyChoiceField("Agencies asked for a return", description="Select all that apply")

    def validate_year(self, field) -> None:
        text = field.data or ""
        if not text:
            raise StopValidation("Enter the year the financial year starts, like 2025")
        if not (text.isascii() and text.isdigit() and len(text) == 4) or not FIRST_YEAR <= int(text) <= LAST_YEAR:
            raise StopValidation("The year must be 4 numbers, like 2025")

    def set_agencies(self, agencies) -> None:
        self.agencies.choices = [(str(a.id), a.name) for a in agencies]


class AddAgenciesForm(FlaskForm):
    """Add agencies to a round that is already open."""

    agencies = AgencyChoiceField("Agencies to add", description="Select all that apply")

    def set_agencies(self, agencies) -> None:
        self.agencies.choices = [(str(a.id), a.name) for a in agencies]

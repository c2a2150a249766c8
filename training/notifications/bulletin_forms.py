"""The bulletin form: subject, text, and optionally a sector and an agency to send to.

The form gives the GOV.UK messages; the service checks the same rules again (and that the
agency is still active), with the same messages.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovTextArea, GovTextInput
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError

from ..accounts.models import Agency, Sector
from .bulletins import (
    AGENCY_UNKNOWN,
    BODY_MAX,
    SECTOR_UNKNOWN,
    SUBJECT_MAX,
    SUBJECT_ONE_LINE,
    BulletinDetails,
    subject_is_one_line,
)


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _newlines(value: str | None) -> str | None:
    # Browsers send CRLF from a textarea: store one kind of line break, so lengths are as seen.
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


class _NotBlank:
    """InputRequired lets "   " through; stripped text must still say something."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, _form, field) -> None:
        if not (field.data or "").strip():
            raise ValidationError(self.message)


def _one_line(_form, field) -> None:
    if not subject_is_one_line(field.data or ""):
        raise ValidationError(SUBJECT_ONE_LINE)


class _OptionalChoice(SelectField):
    """A select whose empty value means "all"; anything not offered gets one plain message."""

    def __init__(self, label: str, message: str, **kwargs) -> None:
        super().__init__(label, widget=GovSelect(), validate_choice=False, **kwargs)
        self.message = message

    def process_formdata(self, valuelist: list[str]) -> None:
        # A value sent twice (a hostile form) is refused rather than silently taking the first.
        if len(valuelist) > 1:
            self.data = "\u0000"
            return
        super().process_formdata(valuelist)

    def pre_validate(self, form) -> None:
        if (self.data or "") not in {choice.value for choice in self.choices}:
            raise ValidationError(self.message)


class BulletinForm(FlaskForm):
    """A bulletin's text and who it goes to."""

    subject = StringField(
        "Subject", description="The email's subject line, for example \u201cSafeguarding update: June 2026\u201d",
        filters=[_strip], widget=GovTextInput(),
        validators=[_NotBlank("Enter a subject"),
                    Length(max=SUBJECT_MAX, message=f"Subject must be {SUBJECT_MAX} characters or fewer"), _one_line],
    )
    body = TextAreaField(
        "Bulletin text",
        description="Plain text. Leave a blank line between paragraphs. Web addresses are sent as they are typed. "
                    "Do not name children or families",
        filters=[_newlines, _strip], widget=GovTextArea(),
        validators=[_NotBlank("Enter the bulletin text"),
                    Length(max=BODY_MAX, message=f"The bulletin text must be {BODY_MAX:,} characters or fewer")],
    )
    sector = _OptionalChoice("Sector (optional)", SECTOR_UNKNOWN,
                             description="Send only to people whose agency is in this sector")
    agency = _OptionalChoice("Agency (optional)", AGENCY_UNKNOWN, description="Send only to people in this agency")

    def set_choices(self, agencies: list[Agency]) -> None:
        """Offer every sector and the active agencies."""
        self.sector.choices = [SelectChoice("", "All sectors")] + [SelectChoice(s.value, s.label) for s in Sector]
        self.agency.choices = [SelectChoice("", "All agencies")] + [
            SelectChoice(str(a.id), f"{a.name} ({a.sector.label})") for a in agencies]

    def fill(self, subject: str, body: str, sector: Sector | None, agency_id: int | None) -> None:
        """Show a saved bulletin in the form."""
        self.subject.data = subject
        self.body.data = body
        self.sector.data = sector.value if sector else ""
        self.agency.data = str(agency_id) if agency_id else ""

    def details(self) -> BulletinDetails:
        """What was typed, once the form is valid."""
        return BulletinDetails(
            subject=self.subject.data,
            body=self.body.data,
            sector=Sector(self.sector.data) if self.sector.data else None,
            agency_id=int(self.agency.data) if self.agency.data else None,
        )

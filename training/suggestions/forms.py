"""Forms for suggesting a course and for the subgroup's decision.

They read what was typed and give GOV.UK messages; the services decide what is allowed and
give the same messages, so a form and a service never disagree.
"""
from __future__ import annotations

from collections.abc import Mapping

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSelect, GovTextArea, GovTextInput
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, ValidationError

from ..accounts.forms import AgencyField
from ..catalogue.forms import WholeNumberField
from .models import SuggestionStatus
from .services import AUDIENCE_MAX, EVIDENCE_MAX, MAX_PEOPLE, NEED_MAX, REASON_MAX, TITLE_MAX, SuggestionDetails

AGREE = "agree"
DECLINE = "decline"


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class _NotBlank:
    """InputRequired lets "   " through; stripped text must still say something."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, _form, field) -> None:
        if not (field.data or "").strip():
            raise ValidationError(self.message)


def _too_long(what: str, limit: int) -> Length:
    return Length(max=limit, message=f"{what} must be {limit:,} characters or fewer")


class SuggestionForm(FlaskForm):
    """A suggestion of a new course."""

    title = StringField(
        "Course title", description="A short name for the course, for example \u201cSafeguarding children with SEND\u201d",
        filters=[_strip], widget=GovTextInput(),
        validators=[_NotBlank("Enter a title for the course"), _too_long("Course title", TITLE_MAX)],
    )
    need = TextAreaField(
        "What need would the course meet?",
        description="The gap in practice or knowledge across the partnership",
        filters=[_strip], widget=GovTextArea(),
        validators=[_NotBlank("Enter the need the course would meet"), _too_long("The need", NEED_MAX)],
    )
    evidence = TextAreaField(
        "What is the evidence for the need?",
        description="For example, learning from a case review, an audit, an inspection, or local figures. "
                    "Do not name children or families",
        filters=[_strip], widget=GovTextArea(),
        validators=[_NotBlank("Enter the evidence for the need"), _too_long("The evidence", EVIDENCE_MAX)],
    )
    audience = TextAreaField(
        "Who is the course for?",
        description="The roles or workforce groups, and the training level if you know it",
        filters=[_strip], widget=GovTextArea(),
        validators=[_NotBlank("Enter who the course is for"), _too_long("Who the course is for", AUDIENCE_MAX)],
    )
    people_benefiting = WholeNumberField(
        "How many people would benefit?", description="Across the partnership. An estimate is fine",
        invalid_message="Enter how many people would benefit, as a whole number",
        validators=[InputRequired("Enter how many people would benefit")],
    )
    agency = AgencyField("Agency", description="The agency making the suggestion")

    def set_agencies(self, agencies) -> None:
        self.agency.set_agencies(agencies)

    def validate_people_benefiting(self, field: WholeNumberField) -> None:
        if field.data is not None and field.data < 1:
            raise ValidationError("The number of people who would benefit must be 1 or more")
        if field.data is not None and field.data > MAX_PEOPLE:
            raise ValidationError(f"The number of people who would benefit must be {MAX_PEOPLE:,} or fewer")

    def details(self) -> SuggestionDetails:
        return SuggestionDetails(
            title=self.title.data or "", need=self.need.data or "", evidence=self.evidence.data or "",
            audience=self.audience.data or "", people_benefiting=self.people_benefiting.data,
            agency_id=self.agency.agency_id,
        )

    def add_errors(self, errors: Mapping[str, str]) -> None:
        for name, message in errors.items():
            field = getattr(self, name, None)
            if field is not None and message not in field.errors:
                field.errors = [*field.errors, message]


class DecisionForm(FlaskForm):
    """The subgroup's decision on a suggestion under review, with the reason the suggester sees."""

    decision = RadioField(
        "What has the subgroup decided?",
        choices=[SelectChoice(AGREE, "Agree"), SelectChoice(DECLINE, "Decline")],
        widget=GovRadioInput(), validate_choice=False,
    )
    reason = TextAreaField(
        "Reason", description="The person who suggested the course will see this. You must give a reason "
                              "if the subgroup declines",
        filters=[_strip], widget=GovTextArea(), validators=[_too_long("Reason", REASON_MAX)],
    )

    def validate_decision(self, field: RadioField) -> None:
        if field.data not in (AGREE, DECLINE):
            raise ValidationError("Select whether the subgroup agrees or declines the suggestion")

    def validate_reason(self, field: TextAreaField) -> None:
        if self.decision.data == DECLINE and not (field.data or "").strip():
            raise ValidationError("Enter why the subgroup declined the suggestion")


class StatusFilterForm(FlaskForm):
    """The coordinators' list, filtered by `?status=`."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    status = SelectField("Status", widget=GovSelect(), validate_choice=False,
                         choices=[SelectChoice("", "All suggestions")]
                         + [SelectChoice(s.value, s.label) for s in SuggestionStatus])

    def validate_status(self, field: SelectField) -> None:
        if field.data and field.data not in {s.value for s in SuggestionStatus}:
            raise ValidationError("Select a status from the list")

    @property
    def selected(self) -> SuggestionStatus | None:
        value = self.status.data or ""
        return SuggestionStatus(value) if value in {s.value for s in SuggestionStatus} else None

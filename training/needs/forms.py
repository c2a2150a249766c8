"""Training needs analysis forms: they read what was typed; the services decide whether it is allowed."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovCheckboxesInput, GovRadioInput, GovSelect, GovTextArea, GovTextInput
from wtforms import Form, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, StopValidation, ValidationError

from ..accounts.models import Agency, Sector
from ..catalogue.forms import GovDateField, WholeNumberField
from ..catalogue.models import Course, Level
from ..db import MAX_ID
from .services import MAX_MONTHS, GroupDetails, RequirementDetails, ReviewDetails

SECTOR_CHOICES = [SelectChoice(s.value, s.label) for s in Sector]
_SECTORS = frozenset(s.value for s in Sector)
_LEVELS = {level.value: level for level in Level}


def _between(low: int, high: int, message: str):
    def check(_form, field):
        if field.data is not None and not low <= field.data <= high:
            raise ValidationError(message)

    return check


class _ServiceErrorsMixin:
    """Puts the services' rule errors (InvalidDetails.errors) next to the right fields."""

    error_fields: Mapping[str, str] = {}

    def add_errors(self, errors: Mapping[str, str]) -> None:
        for key, message in errors.items():
            field = getattr(self, self.error_fields.get(key, key), None)
            if field is not None:
                field.errors = [*field.errors, message]


# ---------------------------------------------------------------------------
# Workforce groups and requirements
# ---------------------------------------------------------------------------

class GroupForm(_ServiceErrorsMixin, FlaskForm):
    """A workforce group's name, description and sectors."""

    name = StringField("Name", widget=GovTextInput(),
                       description="For example, Designated safeguarding leads in schools",
                       validators=[InputRequired("Enter a name for the workforce group")])
    description = TextAreaField("Description (optional)", widget=GovTextArea(),
                                description="Who is in the group, so people can tell whether it is theirs")
    sectors = SelectMultipleField("Sectors", choices=SECTOR_CHOICES, widget=GovCheckboxesInput(),
                                  validate_choice=False, description="Select all that apply")

    def validate_sectors(self, field) -> None:
        values = field.data or []
        if not [v for v in values if v]:
            raise StopValidation("Select the sectors this group works in")
        if any(v not in _SECTORS for v in values):
            raise ValidationError("Select sectors from the list")

    def fill_from(self, group) -> None:
        """Show a saved group."""
        self.name.data = group.name
        self.description.data = group.description
        self.sectors.data = [s.value for s in group.sectors]

    def details(self, active: bool = True) -> GroupDetails:
        """The validated input, for the services."""
        return GroupDetails(name=self.name.data or "", description=self.description.data or "",
                            sectors=tuple(Sector(v) for v in dict.fromkeys(self.sectors.data)), active=active)


class GroupEditForm(GroupForm):
    """A group's details, and whether it is still offered to people choosing their group."""

    active = RadioField("Can people choose this group?", widget=GovRadioInput(), validate_choice=False,
                        choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No, not any more")],
                        description="People already in the group stay in it and still count in the analysis")

    def validate_active(self, field) -> None:
        if field.data not in ("yes", "no"):
            raise StopValidation("Select whether people can choose this group")

    def fill_from(self, group) -> None:
        super().fill_from(group)
        self.active.data = "yes" if group.active else "no"

    def details(self, active: bool = True) -> GroupDetails:
        return super().details(active=self.active.data == "yes")


class RequirementForm(_ServiceErrorsMixin, FlaskForm):
    """What a group must complete, by when, and how often."""

    target = SelectField("Course or level", widget=GovSelect(), validate_choice=False,
                         description="Choose a level when any course at that level will do")
    deadline_months = WholeNumberField(
        "Deadline, in months from starting in the group",
        description="For example, 3 for within 3 months of starting. Enter 0 if it must be done before starting",
        invalid_message="Enter the deadline in months, as a whole number",
        validators=[InputRequired("Enter the deadline in months, as a whole number"),
                    _between(0, MAX_MONTHS, f"Deadline must be between 0 and {MAX_MONTHS} months")],
    )
    refresher_months = WholeNumberField(
        "Refresher interval in months (optional)",
        description="How often it must be done again, for example 24 for every 2 years or 36 for every 3 years. "
                    "Leave blank if once is enough",
        invalid_message="Refresher interval must be a whole number of months, like 36",
        validators=[_between(1, MAX_MONTHS, f"Refresher interval must be between 1 and {MAX_MONTHS} months")],
    )

    def set_choices(self, courses: Iterable[Course]) -> None:
        """Levels first (any course at the level), then each course by title."""
        self.target.choices = (
            [SelectChoice("", "Choose a course or level")]
            + [SelectChoice(f"level:{level.value}", f"Any {level.label} course") for level in Level]
            + [SelectChoice(f"course:{c.id}", c.title) for c in courses]
        )

    def validate_target(self, field) -> None:
        allowed = {c.value for c in self.target.choices or []} - {""}
        if field.data not in allowed:
            raise StopValidation("Select a course or a level")

    def fill_from(self, requirement) -> None:
        """Show a saved requirement."""
        if requirement.course_id is not None:
            self.target.data = f"course:{requirement.course_id}"
        elif requirement.level is not None:
            self.target.data = f"level:{requirement.level.value}"
        self.deadline_months.data = requirement.deadline_months
        self.refresher_months.data = requirement.refresher_months

    def details(self) -> RequirementDetails:
        """The validated input, for the services."""
        kind, _, value = (self.target.data or "").partition(":")
        course_id = int(value) if kind == "course" and value.isdigit() and int(value) <= MAX_ID else None
        return RequirementDetails(
            course_id=course_id,
            level=_LEVELS.get(value) if kind == "level" else None,
            deadline_months=self.deadline_months.data,
            refresher_months=self.refresher_months.data,
        )


# ---------------------------------------------------------------------------
# A person's group
# ---------------------------------------------------------------------------

class MembershipForm(_ServiceErrorsMixin, FlaskForm):
    """The person's workforce group and when they started in the role."""

    group = RadioField("Which workforce group are you in?", widget=GovRadioInput(), validate_choice=False)
    started_on = GovDateField(
        "When did you start in this role?", name_in_errors="The date you started",
        required_message="Enter the date you started in this role",
        description="For example, 1 9 2024. If you are not sure of the day, enter the 1st of the month",
    )

    def set_choices(self, groups) -> None:
        self.group.choices = [SelectChoice(str(g.id), g.name) for g in groups]

    def validate_group(self, field) -> None:
        if field.data not in {c.value for c in self.group.choices or []}:
            raise StopValidation("Select your workforce group")

    @property
    def group_id(self) -> int | None:
        value = self.group.data or ""
        return int(value) if value.isdigit() and int(value) <= MAX_ID else None


# ---------------------------------------------------------------------------
# Reviews and the TNA's filter
# ---------------------------------------------------------------------------

class ReviewForm(_ServiceErrorsMixin, FlaskForm):
    """A TNA review meeting."""

    reviewed_on = GovDateField("Date of the review", name_in_errors="Date of the review",
                               required_message="Enter the date of the review",
                               description="For example, 14 10 2026")
    attendees = TextAreaField("Who attended", widget=GovTextArea(),
                              description="Names and roles, or the agencies represented",
                              validators=[InputRequired("Enter who attended the review")])
    decisions = TextAreaField("Decisions", widget=GovTextArea(),
                              validators=[InputRequired("Enter the decisions made")])
    emerging_issues = TextAreaField("Emerging issues added (optional)", widget=GovTextArea(),
                                    description="Local and national issues the programme needs to reflect")

    def details(self) -> ReviewDetails:
        return ReviewDetails(reviewed_on=self.reviewed_on.data, attendees=self.attendees.data or "",
                             decisions=self.decisions.data or "", emerging_issues=self.emerging_issues.data or "")


class AgencyFilterForm(Form):
    """The TNA's agency filter (a GET form). A value not on offer means every agency."""

    agency = SelectField("Agency", widget=GovSelect(), validate_choice=False)

    def __init__(self, formdata, agencies: Iterable[Agency]):
        super().__init__(formdata)
        agencies = list(agencies)
        self.agency.choices = [SelectChoice("", "All agencies")] + [SelectChoice(str(a.id), a.name)
                                                                    for a in agencies]
        self._ids = {str(a.id): a for a in agencies}

    @property
    def chosen(self) -> Agency | None:
        return self._ids.get(self.agency.data or "")

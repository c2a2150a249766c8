"""Forms for the results pages and the quality review loop."""
from __future__ import annotations

import re
from datetime import date

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovTextArea, GovTextInput
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .reviews import TEXT_MAX

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TOO_LONG = f"must be {TEXT_MAX} characters or fewer"


def _iso_date(label: str, example: str):
    def check(_form, field):
        text = (field.data or "").strip()
        if not text:
            return
        if not _ISO_DATE.match(text):
            raise ValidationError(f"{label} must be a real date, like {example}")
        try:
            date.fromisoformat(text)
        except ValueError:
            raise ValidationError(f"{label} must be a real date, like {example}") from None

    return check


class PeriodForm(FlaskForm):
    """The course results' period, read from `?from=YYYY-MM-DD&to=YYYY-MM-DD`.

    The dates are in the address so a results page can be bookmarked and shared, which is
    why they are single text boxes rather than day, month and year boxes.
    """

    class Meta:
        csrf = False  # a GET form that changes nothing

    start = StringField(
        "From", name="from", description="For example, 2026-04-01",
        validators=[Optional(), _iso_date("From date", "2026-04-01")], widget=GovTextInput(),
    )
    end = StringField(
        "To", name="to", description="For example, 2027-03-31",
        validators=[Optional(), _iso_date("To date", "2027-03-31")], widget=GovTextInput(),
    )

    def validate_end(self, field: StringField) -> None:
        first, last = self.start_date, self.end_date
        if first and last and last < first:
            raise ValidationError("To date must be the same as or after the from date")

    @staticmethod
    def _date(field: StringField) -> date | None:
        text = (field.data or "").strip()
        if not _ISO_DATE.match(text):
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None

    @property
    def start_date(self) -> date | None:
        return self._date(self.start)

    @property
    def end_date(self) -> date | None:
        return self._date(self.end)


class RaiseReviewForm(FlaskForm):
    """A coordinator raises a review by hand."""

    course = SelectField("Course", choices=[], validate_choice=False, widget=GovSelect())
    reason = TextAreaField(
        "Why does this need a review?",
        validators=[DataRequired("Enter why this course or session needs a review"),
                    Length(max=TEXT_MAX, message=f"Reason {_TOO_LONG}")],
        widget=GovTextArea(),
    )

    def set_courses(self, courses) -> None:
        self.course.choices = [("", "Select a course")] + [(str(c.id), c.title) for c in courses]

    def validate_course(self, field: SelectField) -> None:
        if not field.data:
            raise ValidationError("Select a course")
        if field.data not in {value for value, _label in field.choices}:
            raise ValidationError("Select a course from the list")

    @property
    def course_id(self) -> int:
        return int(self.course.data)


class FindingsForm(FlaskForm):
    """The subgroup's findings and the improvements suggested to the trainer."""

    findings = TextAreaField(
        "Findings", description="What the subgroup found when it looked at the evaluations",
        validators=[Length(max=TEXT_MAX, message=f"Findings {_TOO_LONG}")], widget=GovTextArea(),
    )
    improvements = TextAreaField(
        "Improvements suggested to the trainer",
        validators=[Length(max=TEXT_MAX, message=f"Improvements {_TOO_LONG}")], widget=GovTextArea(),
    )


class ResponseForm(FlaskForm):
    """The trainer's response."""

    response = TextAreaField(
        "Your response",
        description="What you will change, or anything the subgroup should know",
        validators=[DataRequired("Enter your response to the review"),
                    Length(max=TEXT_MAX, message=f"Your response {_TOO_LONG}")],
        widget=GovTextArea(),
    )

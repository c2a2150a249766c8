"""The audit log's filter form (a GET form: it changes nothing, so it has no CSRF token)."""
from __future__ import annotations

import re
from datetime import date

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextInput
from wtforms import StringField, SubmitField
from wtforms.validators import Length, ValidationError

from ..catalogue.forms import GovDateField
from ..db import MAX_ID
from .models import ACTION_MAX, OBJECT_TYPE_MAX
from .services import AuditFilters

#: Years outside this range cannot be in the log, and would overflow the date arithmetic.
FIRST_YEAR, LAST_YEAR = 2000, 2999
_DIGITS = re.compile(r"^\d{1,10}$")


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _plausible_year(_form, field) -> None:
    if field.data is not None and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise ValidationError(f"{field.name_in_errors} must be a real date")


class AuditFilterForm(FlaskForm):
    """Filters for the audit log; empty boxes mean any."""

    class Meta:
        csrf = False

    action = StringField(
        "Action starts with", widget=GovTextInput(), filters=[_strip],
        description="For example, role, booking.moved or export",
        validators=[Length(max=ACTION_MAX, message=f"Action must be {ACTION_MAX} characters or fewer")],
    )
    actor_email = StringField(
        "Email address of the person who did it", widget=GovTextInput(), filters=[_strip],
        validators=[Length(max=254, message="Email address must be 254 characters or fewer")],
    )
    object_type = StringField(
        "Type of record", widget=GovTextInput(), filters=[_strip],
        description="For example, user, booking, attendance or session",
        validators=[Length(max=OBJECT_TYPE_MAX, message=f"Type of record must be {OBJECT_TYPE_MAX} characters or fewer")],
    )
    object_id = StringField("Record ID", widget=GovTextInput(), filters=[_strip])
    date_from = GovDateField("From", name_in_errors="Date from", description="For example, 27 3 2026",
                             validators=[_plausible_year])
    date_to = GovDateField("To", name_in_errors="Date to", description="For example, 31 3 2026",
                           validators=[_plausible_year])
    submit = SubmitField("Filter", widget=GovSubmitInput())

    def validate_object_id(self, field) -> None:
        if field.data and (not _DIGITS.match(field.data) or not 0 < int(field.data) <= MAX_ID):
            raise ValidationError("Record ID must be a whole number, like 42")

    def validate_date_to(self, field) -> None:
        start: date | None = self.date_from.data
        if field.data is not None and start is not None and field.data < start:
            raise ValidationError("Date to must be the same as or after date from")

    def filters(self) -> AuditFilters:
        """The filters as the service takes them (call after validate())."""
        return AuditFilters(
            action_prefix=self.action.data or None,
            actor_email=self.actor_email.data or None,
            object_type=self.object_type.data or None,
            object_id=int(self.object_id.data) if self.object_id.data else None,
            date_from=self.date_from.data,
            date_to=self.date_to.data,
        )

    def query_args(self) -> dict[str, str | list[str]]:
        """The filters as URL parameters, so page links keep them."""
        args: dict = {name: getattr(self, name).data for name in ("action", "actor_email", "object_type", "object_id")}
        for name in ("date_from", "date_to"):
            value = getattr(self, name).data
            if value is not None:
                # The date widget names its day, month and year boxes alike: one repeated parameter.
                args[name] = [str(value.day), str(value.month), str(value.year)]
        return {k: v for k, v in args.items() if v}

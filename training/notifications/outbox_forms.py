"""The outbox page's status filter."""
from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from .models import MessageStatus

_STATUSES = {s.value for s in MessageStatus}


class OutboxFilterForm(FlaskForm):
    """The coordinators' outbox, filtered by `?status=`."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    status = SelectField("Status", widget=GovSelect(), validate_choice=False,
                         choices=[SelectChoice("", "All messages")]
                         + [SelectChoice(s.value, s.label) for s in MessageStatus])

    def validate_status(self, field: SelectField) -> None:
        if field.data and field.data not in _STATUSES:
            raise ValidationError("Select a status from the list")

    @property
    def selected(self) -> MessageStatus | None:
        """The valid status chosen, or None for all."""
        value = self.status.data or ""
        return MessageStatus(value) if value in _STATUSES else None

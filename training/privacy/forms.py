"""Forms for the privacy pages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from wtforms import SubmitField


class DeletePersonForm(FlaskForm):
    """Confirms that a coordinator wants to delete a person's personal data."""

    submit = SubmitField("Delete personal data", widget=GovSubmitInput())

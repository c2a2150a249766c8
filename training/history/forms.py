"""The history upload form."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from govuk_frontend_wtf.wtforms_widgets import GovFileInput, GovSubmitInput
from wtforms import SubmitField

SELECT_A_FILE = "Select a CSV file"


class UploadForm(FlaskForm):
    """A CSV file of past attendance records, checked and shown before anything is imported."""

    file = FileField("Upload a CSV file", widget=GovFileInput(), validators=[FileRequired(message=SELECT_A_FILE)],
                     description="One row for each person at each session, with a header row. "
                                 "Save it from your spreadsheet as CSV UTF-8.")
    submit = SubmitField("Upload and check the file", widget=GovSubmitInput())

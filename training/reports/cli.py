"""`flask report summary`: the summary's figures for any period, as JSON."""
from __future__ import annotations

from flask.cli import AppGroup

report_cli = AppGroup("report", help="Reports for the Learning & Development Subgroup.")

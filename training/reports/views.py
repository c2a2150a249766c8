"""The subgroup summary as a page, a PDF, CSV and Excel; period exports of bookings and attendance."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

"""Coordinators upload a history file, see a preview, then confirm the import."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("history", __name__, url_prefix="/manage/history-import")

"""The personal calendar feed (a secret URL) and turning it on, resetting or revoking it."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("calendar", __name__)

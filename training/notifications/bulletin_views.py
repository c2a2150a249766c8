"""Safeguarding-updates bulletins (coordinators) and the one-click unsubscribe (anyone with the link)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("bulletins", __name__)

"""The line manager's approve-or-decline page, reached from a signed link without an account."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("approvals", __name__, url_prefix="/approval")

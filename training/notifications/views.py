"""The coordinators' view of the outbox: queued, sent and failed messages, and retrying one."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/manage/outbox")

"""Certificates of attendance with public verification codes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..attendance.models import Attendance
from ..db import UTCDateTime, utcnow
from ..extensions import db


class Certificate(db.Model):
    """Issued once per attendance that counts (attended or partial); the code is what the
    public verify page checks."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    attendance_id: Mapped[int] = mapped_column(ForeignKey("attendances.id"), unique=True)
    # Unguessable, unambiguous (no 0/O, 1/I), shown in groups: e.g. K7QM-3XWP-9D2R.
    code: Mapped[str] = mapped_column(String(20), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attendance: Mapped[Attendance] = relationship(lazy="joined", innerjoin=True)

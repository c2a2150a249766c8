"""An uploaded history file: kept from preview to import, and afterwards as the record of what
was imported, when and by whom."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..db import UTCDateTime, enum_type, utcnow
from ..extensions import db


class ImportStatus(enum.StrEnum):
    PREVIEWED = "previewed"  # parsed and checked; nothing written yet
    IMPORTED = "imported"
    DISCARDED = "discarded"

    @property
    def label(self) -> str:
        return {"previewed": "Waiting for confirmation", "imported": "Imported",
                "discarded": "Discarded"}[self.value]


class RecordStatus(enum.StrEnum):
    """What a history file says happened to one person at one session."""

    ATTENDED = "attended"
    DID_NOT_ATTEND = "did-not-attend"
    LATE_CANCELLATION = "late-cancellation"

    @property
    def label(self) -> str:
        return {"attended": "Attended", "did-not-attend": "Did not attend",
                "late-cancellation": "Late cancellation"}[self.value]


class HistoryImport(db.Model):
    """One uploaded CSV file of past attendance records."""

    __tablename__ = "history_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # The decoded file, so the import that runs after the preview is exactly what was previewed.
    # Cleared once imported or discarded: the records themselves are then the data.
    content: Mapped[str | None] = mapped_column(Text)
    row_count: Mapped[int] = mapped_column(default=0)
    status: Mapped[ImportStatus] = mapped_column(enum_type(ImportStatus, 20), default=ImportStatus.PREVIEWED)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the import created, e.g. '{"courses": 2, "sessions": 29, "people": 670, ...}'.
    counts_json: Mapped[str | None] = mapped_column(Text)

    uploaded_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<HistoryImport {self.id} {self.status}>"

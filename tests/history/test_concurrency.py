"""Imports racing each other: the same preview confirmed twice at once, and two uploads of the
same file confirmed at once. Imports take turns, so records are written once."""
from __future__ import annotations

import io
import threading

from sqlalchemy import func, select

from tests.conftest import login
from tests.factories import CoordinatorFactory
from tests.history.helpers import people_file, table_counts
from training.booking.models import Booking
from training.catalogue.models import CourseSession
from training.extensions import db
from training.history.models import HistoryImport, ImportStatus
from training.history.services import Counts

DATA = people_file(60)


def _race(calls) -> list[int]:
    barrier = threading.Barrier(len(calls))
    codes: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(call):
        try:
            barrier.wait(timeout=60)
            response = call()
            with lock:
                codes.append(response.status_code)
        except BaseException as exc:  # noqa: BLE001  (reported below)
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    return codes


def _upload(client) -> int:
    response = client.post("/manage/history-import/", data={"file": (io.BytesIO(DATA), "h.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_the_same_preview_confirmed_twice_at_once_imports_once(app):
    clients = [login(app.test_client(), CoordinatorFactory()) for _ in range(2)]
    import_id = _upload(clients[0])
    codes = _race([lambda c=c: c.post(f"/manage/history-import/{import_id}/import") for c in clients])
    assert codes == [302, 302]
    db.session.commit()
    assert db.session.scalar(select(func.count(Booking.id))) == 60
    assert db.session.get(HistoryImport, import_id).status is ImportStatus.IMPORTED


def test_two_uploads_of_one_file_confirmed_at_once_write_each_record_once(app):
    clients = [login(app.test_client(), CoordinatorFactory()) for _ in range(2)]
    ids = [_upload(c) for c in clients]
    before = table_counts()
    codes = _race([lambda c=c, i=i: c.post(f"/manage/history-import/{i}/import") for c, i in zip(clients, ids,
                                                                                              strict=True)])
    assert codes == [302, 302]
    after = table_counts()
    assert after["bookings"] - before["bookings"] == 60
    assert after["course_sessions"] - before["course_sessions"] == 6
    assert db.session.scalar(select(func.count(CourseSession.id))) == 6
    imported = db.session.scalars(select(HistoryImport).where(HistoryImport.id.in_(ids))).all()
    assert {h.status for h in imported} == {ImportStatus.IMPORTED}
    assert sorted(Counts.from_json(h.counts_json).new_rows for h in imported) == [0, 60]

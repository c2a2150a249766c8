"""The upload, preview, import and discard pages."""
from __future__ import annotations

import io
import re

import pytest
from flask import render_template
from sqlalchemy import func, select

from tests.factories import CoordinatorFactory, TrainerFactory, UserFactory
from tests.history.helpers import history_bytes, record, table_counts
from training.booking.models import Booking
from training.extensions import db
from training.history.models import HistoryImport, ImportStatus

GOOD = history_bytes(
    record(attendee_name="Ann Archer", attendee_email="ann@health.example", comment="Very clear"),
    record(attendee_name="Bob Baker", attendee_email="bob@school.example", agency="Hill School", sector="education",
           status="did-not-attend", rating=""),
    record(session_start="2024-06-04", session_end="", course_title="Prevent awareness", session_type="workshop",
           attendee_name="Ann Archer", attendee_email="ann@health.example"),
)


def _upload(client, data: bytes | None, filename: str = "history.csv"):
    form = {} if data is None else {"file": (io.BytesIO(data), filename)}
    return client.post("/manage/history-import/", data=form, content_type="multipart/form-data")


@pytest.fixture
def coordinator_client(login_as):
    return login_as(CoordinatorFactory())


def _import_id() -> int:
    db.session.commit()
    return db.session.scalar(select(HistoryImport.id))


def test_only_coordinators_may_use_the_pages(client, login_as):
    coordinator_client = login_as(CoordinatorFactory())
    assert _upload(coordinator_client, GOOD).status_code == 302
    import_id = _import_id()
    gets = ["/manage/history-import/", f"/manage/history-import/{import_id}"]
    posts = ["/manage/history-import/", f"/manage/history-import/{import_id}/import",
             f"/manage/history-import/{import_id}/discard"]
    for url in gets:
        response = client.get(url)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    for person in (UserFactory(), TrainerFactory()):
        other = login_as(person)
        for url in gets:
            assert other.get(url).status_code == 403, url
        for url in posts:
            assert other.post(url).status_code == 403, url
    assert db.session.get(HistoryImport, import_id).status is ImportStatus.PREVIEWED
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_upload_page_explains_the_columns_and_lists_past_uploads(coordinator_client):
    page = coordinator_client.get("/manage/history-import/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Import past training records" in html and 'enctype="multipart/form-data"' in html
    assert "<code>session_start</code>" in html and "<code>comment</code> (optional)" in html
    assert "No files have been uploaded yet" in html
    _upload(coordinator_client, GOOD, "spring 2024.csv")
    html = coordinator_client.get("/manage/history-import/").get_data(as_text=True)
    assert "spring 2024.csv" in html and "Waiting for confirmation" in html


def test_no_file_selected(coordinator_client):
    response = _upload(coordinator_client, None)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "govuk-error-summary" in html and "Select a CSV file" in html
    assert "<title>Error: Import past training records" in html


def test_a_bad_file_is_refused_with_every_problem_and_nothing_kept(coordinator_client):
    before = table_counts()
    bad = history_bytes(record(session_start="12/03/2024"), record(attendee_email="b@x.example", status="went"),
                        record(attendee_email="c@x.example", status="did-not-attend"))
    response = _upload(coordinator_client, bad, "bad.csv")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The selected file has 3 problems: fix them in the spreadsheet and upload the file again" in html
    assert "Problems in bad.csv" in html
    cells = re.findall(r'<td class="govuk-table__cell">([^<]*)</td>', html.split("data-problems", 1)[1].split(
        "</table>", 1)[0])
    assert [tuple(cells[i:i + 3]) for i in range(0, len(cells), 3)] == [
        ("2", "session_start", "Enter the session start as a date like 2024-03-31 or 2024-03-31T09:30"),
        ("3", "status", "Status must be attended, did-not-attend or late-cancellation"),
        ("4", "rating", "Rating is only allowed when the status is attended"),
    ]
    assert table_counts() == before  # not even an upload record


def test_file_level_problems_are_the_error_message(coordinator_client):
    response = _upload(coordinator_client, "café".encode("latin-1"), "old.csv")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The file must be saved as UTF-8 CSV" in html
    assert "data-problems" not in html  # one problem with the whole file is the message, not a table
    response = _upload(coordinator_client, history_bytes(record(), columns=("session_start", "course_title", "Room")))
    html = response.get_data(as_text=True)
    assert "The selected file has 2 problems" in html and "data-problems" in html
    assert "does not recognise: Room" in html and "is missing the columns session_type" in html


def test_only_the_first_100_problems_are_listed(coordinator_client):
    rows = [record(attendee_email=f"p{n}@x.example", status="unknown") for n in range(130)]
    html = _upload(coordinator_client, history_bytes(*rows)).get_data(as_text=True)
    assert "The selected file has 130 problems" in html
    assert html.count("Status must be attended") == 100
    assert "And 30 more problems not shown here" in html


def test_preview_shows_what_would_be_created_then_import_then_confirmation(coordinator_client):
    response = _upload(coordinator_client, GOOD)
    import_id = _import_id()
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/manage/history-import/{import_id}")
    assert db.session.scalar(select(func.count(Booking.id))) == 0

    html = coordinator_client.get(f"/manage/history-import/{import_id}").get_data(as_text=True)
    assert "Check the records before you import them" in html
    counts = dict(re.findall(r'data-count="(\w+)">([\d,]+)<', html))
    assert counts == {"courses": "2", "sessions": "2", "agencies": "2", "people": "2", "bookings": "3",
                      "attendances": "3", "evaluations": "2"}
    assert "2 new agencies will be created as inactive" in html
    assert "Bob Baker" in html and "Did not attend" in html and "Import these records" in html

    response = coordinator_client.post(f"/manage/history-import/{import_id}/import")
    assert response.status_code == 302
    page = coordinator_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Records imported" in page and "3 new records from history.csv" in page
    assert 'href="/reports/summary?from=2024-03-12&amp;to=2024-06-04"' in page
    assert db.session.scalar(select(func.count(Booking.id))) == 3

    again = coordinator_client.post(f"/manage/history-import/{import_id}/import")
    assert again.status_code == 302
    page = coordinator_client.get(again.headers["Location"]).get_data(as_text=True)
    assert "This file was already imported on" in page
    assert db.session.scalar(select(func.count(Booking.id))) == 3


def test_preview_of_a_file_already_recorded_says_nothing_would_change(coordinator_client):
    _upload(coordinator_client, GOOD)
    coordinator_client.post(f"/manage/history-import/{_import_id()}/import")
    response = _upload(coordinator_client, GOOD)
    html = coordinator_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Every row is already recorded, so importing this file would change nothing" in html
    assert "A file with exactly the same contents was imported on" in html


def test_discard(coordinator_client):
    _upload(coordinator_client, GOOD)
    import_id = _import_id()
    response = coordinator_client.post(f"/manage/history-import/{import_id}/discard")
    assert response.status_code == 302 and response.headers["Location"].endswith("/manage/history-import/")
    assert "File discarded: nothing was imported" in coordinator_client.get("/manage/history-import/").get_data(
        as_text=True)
    assert "This file was discarded" in coordinator_client.get(f"/manage/history-import/{import_id}").get_data(
        as_text=True)
    refused = coordinator_client.post(f"/manage/history-import/{import_id}/import")
    page = coordinator_client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "This file was discarded, so it cannot be imported" in page
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_unknown_imports_are_404(coordinator_client):
    assert coordinator_client.get("/manage/history-import/999999").status_code == 404
    assert coordinator_client.post("/manage/history-import/999999/import").status_code == 404
    assert coordinator_client.post("/manage/history-import/999999/discard").status_code == 404
    assert coordinator_client.get("/manage/history-import/99999999999").status_code == 404


def test_a_file_over_the_size_limit_is_refused(app, coordinator_client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1000
    try:
        response = _upload(coordinator_client, GOOD + b"x" * 2000)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413
    assert db.session.scalar(select(func.count(HistoryImport.id))) == 0


def test_the_413_page_says_what_to_do(app):
    with app.test_request_context("/manage/history-import/"):
        html = render_template("errors/413.html")
    assert "The file is too big" in html and "smaller than 20 MB" in html

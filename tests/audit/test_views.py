"""The coordinators' audit log page: who may see it, filters, errors, paging and queries."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import CoordinatorFactory, TrainerFactory, UserFactory
from tests.sql import recorded_statements
from training.accounts import services as accounts
from training.accounts.models import Role
from training.audit import services
from training.db import write_transaction

URL = "/manage/audit"


def _add(actor, action: str, object_type: str, object_id: int, when: datetime, summary: str | None = None) -> None:
    with write_transaction():
        services.record(actor, action, object_type, object_id, summary or f"{action} on {object_type} {object_id}", when)


@pytest.fixture
def coordinator():
    return CoordinatorFactory(email="coord@example.org")


def test_only_coordinators_see_the_log(client, login_as, coordinator):
    assert client.get(URL).status_code == 302
    assert login_as(UserFactory()).get(URL).status_code == 403
    assert login_as(TrainerFactory()).get(URL).status_code == 403
    response = login_as(coordinator).get(URL)
    assert response.status_code == 200
    assert "Nothing has been recorded yet" in response.text


def test_newest_first_with_the_actor_email(login_as, coordinator):
    base = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    _add(coordinator, "role.granted", "user", 5, base, "Granted trainer to person 5")
    _add(None, "booking.expired", "booking", 9, base + timedelta(hours=1), "Offer on booking 9 expired")
    text = login_as(coordinator).get(URL).text
    assert text.index("Offer on booking 9 expired") < text.index("Granted trainer to person 5")
    assert "coord@example.org" in text
    assert "System" in text
    assert "2 events" in text


@pytest.mark.parametrize(("query", "shown", "hidden"), [
    ({"action": "booking"}, "booking.moved on booking 2", "role.granted on user 1"),
    ({"action": "ROLE.G"}, "role.granted on user 1", "booking.moved on booking 2"),
    ({"object_type": "booking", "object_id": "2"}, "booking.moved on booking 2", "booking.moved on booking 3"),
    ({"actor_email": "OTHER@example.org"}, "booking.moved on booking 3", "booking.moved on booking 2"),
    ({"date_from": ["3", "3", "2026"], "date_to": ["3", "3", "2026"]}, "booking.moved on booking 2",
     "booking.moved on booking 3"),
])
def test_filters(login_as, coordinator, query, shown, hidden):
    other = CoordinatorFactory(email="other@example.org")
    _add(coordinator, "role.granted", "user", 1, datetime(2026, 3, 2, 12, tzinfo=UTC))
    _add(coordinator, "booking.moved", "booking", 2, datetime(2026, 3, 3, 12, tzinfo=UTC))
    _add(other, "booking.moved", "booking", 3, datetime(2026, 3, 4, 12, tzinfo=UTC))
    response = login_as(coordinator).get(URL, query_string=query)
    assert response.status_code == 200
    assert shown in response.text
    assert hidden not in response.text


def test_the_date_range_uses_uk_dates(login_as, coordinator):
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST).
    _add(coordinator, "role.granted", "user", 1, datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
    response = login_as(coordinator).get(URL, query_string={"date_from": ["1", "7", "2026"]})
    assert "role.granted on user 1" in response.text


@pytest.mark.parametrize(("query", "message"), [
    ({"date_from": ["31", "2", "2026"]}, "Date from must be a real date"),
    ({"date_from": ["1", "", "2026"]}, "Date from must include a month"),
    ({"date_to": ["1", "1", "99999"]}, "Year must include 4 numbers"),
    ({"date_to": ["1", "1", "0001"]}, "Date to must be a real date"),
    ({"date_from": ["99999999999999999999", "1", "2020"]}, "Date from must be a real date"),  # overflows a C int
    ({"date_from": ["2", "3", "2026"], "date_to": ["1", "3", "2026"]}, "Date to must be the same as or after date from"),
    ({"object_id": "twelve"}, "Record ID must be a whole number, like 42"),
    ({"object_id": "99999999999"}, "Record ID must be a whole number, like 42"),
])
def test_bad_filters_are_errors_not_crashes(login_as, coordinator, query, message):
    response = login_as(coordinator).get(URL, query_string=query)
    assert response.status_code == 400
    assert "govuk-error-summary" in response.text
    assert message in response.text
    assert "Error: Audit log" in response.text


def test_pages_keep_the_filters(app, login_as, coordinator, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_PAGE_SIZE", 2)
    for n in range(5):
        _add(coordinator, "booking.moved", "booking", n + 1, datetime(2026, 3, 3, 12, n, tzinfo=UTC))
    _add(coordinator, "role.granted", "user", 1, datetime(2026, 3, 3, 13, tzinfo=UTC))
    client = login_as(coordinator)
    first = client.get(URL, query_string={"action": "booking", "date_from": ["3", "3", "2026"]})
    assert "5 events, page 1 of 3" in first.text
    assert "page=2" in first.text and "action=booking" in first.text and "date_from=3" in first.text
    last = client.get(URL, query_string={"action": "booking", "date_from": ["3", "3", "2026"], "page": "3"})
    assert "booking.moved on booking 1<" in last.text
    assert "role.granted" not in last.text
    beyond = client.get(URL, query_string={"page": "999999999999"})
    assert beyond.status_code == 200


@pytest.mark.parametrize("filtered", [False, True])
def test_queries_do_not_grow_with_the_number_of_events(login_as, coordinator, filtered):
    client = login_as(coordinator)
    query = {"actor_email": "coord@example.org", "action": "booking"} if filtered else {}
    counts = []
    for size in (2, 30):
        actors = [CoordinatorFactory() for _ in range(size)] + [coordinator]
        for n, actor in enumerate(actors):
            _add(actor, "booking.moved", "booking", n + 1, datetime(2026, 3, 3, 12, tzinfo=UTC) + timedelta(minutes=n))
        with recorded_statements() as statements:
            assert client.get(URL, query_string=query).status_code == 200
        counts.append(len(statements.queries))
    assert counts[0] == counts[1]


def test_no_personal_data_beyond_ids_in_the_hook_summaries_shown(login_as, coordinator):
    person = UserFactory(name="Zara Quinn", email="zara@example.org")
    accounts.set_roles(person, [Role.PROFESSIONAL, Role.TRAINER], actor=coordinator)
    text = login_as(coordinator).get(URL).text
    assert f"Granted trainer to person {person.id}" in text
    assert "Zara" not in text and "zara@example.org" not in text

"""Safeguarding-updates bulletins: who receives them, sending once, the email itself, and the
coordinators' pages (with GOV.UK errors for bad input)."""
from __future__ import annotations

import json
import re
import threading
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from tests.factories import AgencyFactory, CoordinatorFactory, UserFactory
from tests.notifications.conftest import body_html, body_text
from training.accounts.models import Sector, User
from training.audit.models import AuditEvent
from training.extensions import db
from training.notifications import bulletins as services
from training.notifications.models import Bulletin, MessageKind, Outbox
from training.notifications.sender import deliver

BODY = "Neglect strategy launched.\nRead it on the website.\n\nThe next forum is in July."


@pytest.fixture
def people():
    """Consenting and non-consenting people in two health agencies and one school."""
    health_a = AgencyFactory(name="Thameside Hospital", sector=Sector.HEALTH)
    health_b = AgencyFactory(name="Thameside GP Federation", sector=Sector.HEALTH)
    school = AgencyFactory(name="Thameside Primary", sector=Sector.EDUCATION)
    return {
        "agencies": {"health_a": health_a, "health_b": health_b, "school": school},
        "a_yes": UserFactory(agency=health_a, consent_updates=True, name="Ada Yes", email="ada@example.org"),
        "a_no": UserFactory(agency=health_a, consent_updates=False, email="anne@example.org"),
        "a_gone": UserFactory(agency=health_a, consent_updates=True, active=False, email="gone@example.org"),
        "b_yes": UserFactory(agency=health_b, consent_updates=True, email="bea@example.org"),
        "school_yes": UserFactory(agency=school, consent_updates=True, email="sol@example.org"),
        "coordinator": CoordinatorFactory(agency=school, consent_updates=False),
    }


def _draft(coordinator, sector=None, agency_id=None, subject="Safeguarding update: June", body=BODY) -> Bulletin:
    return services.create_draft(services.BulletinDetails(subject, body, sector, agency_id), coordinator)


def _outbox_recipients(bulletin_id: int | None = None) -> list[str]:
    query = select(Outbox.recipient).where(Outbox.kind == MessageKind.BULLETIN).order_by(Outbox.recipient)
    if bulletin_id is not None:
        query = query.where(Outbox.dedupe_key.like(f"bulletin:{bulletin_id}:%"))
    return list(db.session.scalars(query))


# ---------------------------------------------------------------------------
# Who receives it
# ---------------------------------------------------------------------------

def test_only_active_people_who_consented_receive_it(people):
    bulletin = _draft(people["coordinator"])
    assert services.recipient_count() == 3
    assert services.send(bulletin.id, people["coordinator"]) == 3
    assert _outbox_recipients() == ["ada@example.org", "bea@example.org", "sol@example.org"]
    db.session.refresh(bulletin)
    assert bulletin.sent_at is not None and bulletin.recipient_count == 3
    # The user id is kept, for subject access and anonymisation.
    assert db.session.scalar(select(Outbox.user_id).where(Outbox.recipient == "ada@example.org")) == people["a_yes"].id


def test_a_sector_bulletin_goes_only_to_that_sector(people):
    bulletin = _draft(people["coordinator"], sector=Sector.HEALTH)
    assert services.send(bulletin.id, people["coordinator"]) == 2
    assert _outbox_recipients() == ["ada@example.org", "bea@example.org"]


def test_an_agency_bulletin_goes_only_to_that_agency(people):
    agency = people["agencies"]["health_b"]
    bulletin = _draft(people["coordinator"], agency_id=agency.id)
    assert services.send(bulletin.id, people["coordinator"]) == 1
    assert _outbox_recipients() == ["bea@example.org"]


def test_sector_and_agency_together(people):
    agency = people["agencies"]["health_a"]
    bulletin = _draft(people["coordinator"], sector=Sector.HEALTH, agency_id=agency.id)
    assert services.send(bulletin.id, people["coordinator"]) == 1
    assert _outbox_recipients() == ["ada@example.org"]


def test_an_agency_outside_the_chosen_sector_is_refused(people):
    with pytest.raises(services.InvalidBulletin) as err:
        _draft(people["coordinator"], sector=Sector.POLICE, agency_id=people["agencies"]["school"].id)
    assert err.value.errors == {"agency": "Select an agency in the sector you chose, or no agency"}
    assert db.session.scalar(select(func.count(Bulletin.id))) == 0


def test_nobody_to_send_to_is_refused_and_nothing_changes(people):
    bulletin = _draft(people["coordinator"], sector=Sector.POLICE)
    with pytest.raises(services.NoRecipients):
        services.send(bulletin.id, people["coordinator"])
    db.session.refresh(bulletin)
    assert bulletin.sent_at is None and _outbox_recipients() == []


def test_someone_who_unsubscribed_is_not_in_the_next_bulletin(people):
    first = _draft(people["coordinator"])
    services.send(first.id, people["coordinator"])
    assert services.unsubscribe(people["a_yes"].id) is True
    second = _draft(people["coordinator"], subject="Safeguarding update: July")
    assert services.send(second.id, people["coordinator"]) == 2
    assert "ada@example.org" in _outbox_recipients(first.id)
    assert _outbox_recipients(second.id) == ["bea@example.org", "sol@example.org"]


# ---------------------------------------------------------------------------
# Sent once
# ---------------------------------------------------------------------------

def test_a_bulletin_is_sent_once_even_if_send_is_called_twice(people):
    bulletin = _draft(people["coordinator"])
    services.send(bulletin.id, people["coordinator"])
    first_sent_at = db.session.get(Bulletin, bulletin.id).sent_at
    with pytest.raises(services.BulletinAlreadySent):
        services.send(bulletin.id, people["coordinator"])
    assert len(_outbox_recipients()) == 3
    assert db.session.get(Bulletin, bulletin.id).sent_at == first_sent_at
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "bulletin.sent")) == 1


def test_a_double_click_on_send_sends_once(people, login_as):
    bulletin = _draft(people["coordinator"])
    client = login_as(people["coordinator"])
    url = f"/manage/bulletins/{bulletin.id}/send"
    first, second = client.post(url), client.post(url, follow_redirects=True)
    assert first.status_code == 302
    assert "This bulletin has already been sent" in second.get_data(as_text=True)
    assert len(_outbox_recipients()) == 3


def test_two_coordinators_sending_at_once_send_it_once(app, people):
    bulletin_id = _draft(people["coordinator"]).id
    coordinator_ids = [people["coordinator"].id, CoordinatorFactory().id]
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def run(i: int) -> None:
        try:
            with app.app_context():
                actor = db.session.get(User, coordinator_ids[i])
                db.session.commit()
                barrier.wait(timeout=60)
                results[i] = services.send(bulletin_id, actor)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001  (checked by the test)
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(map(type, results), key=str) == sorted([int, services.BulletinAlreadySent], key=str), results
    assert 3 in results
    db.session.rollback()  # end the test's read snapshot to see what the threads wrote
    assert len(_outbox_recipients()) == 3
    assert db.session.get(Bulletin, bulletin_id).recipient_count == 3


def test_a_sent_bulletin_cannot_be_edited(people, login_as):
    bulletin = _draft(people["coordinator"])
    services.send(bulletin.id, people["coordinator"])
    with pytest.raises(services.BulletinAlreadySent):
        services.update_draft(bulletin.id, services.BulletinDetails("Changed", "Changed"), people["coordinator"])
    client = login_as(people["coordinator"])
    response = client.post(f"/manage/bulletins/{bulletin.id}/edit", data={"subject": "Changed", "body": "Changed"})
    assert response.status_code == 302
    assert client.get(f"/manage/bulletins/{bulletin.id}/edit").status_code == 302
    db.session.rollback()
    assert db.session.get(Bulletin, bulletin.id).subject == "Safeguarding update: June"


# ---------------------------------------------------------------------------
# The email
# ---------------------------------------------------------------------------

def test_the_email_arrives_with_one_click_unsubscribe_headers_that_work(app, people, smtp_server, client):
    bulletin = _draft(people["coordinator"])
    services.send(bulletin.id, people["coordinator"])
    assert deliver().sent == 3
    [message] = smtp_server.to("ada@example.org")
    assert message["Subject"] == "Safeguarding update: June"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = message["List-Unsubscribe"].strip()  # long headers may be folded onto a new line
    assert re.fullmatch(r"<https?://[^>]+/unsubscribe/[A-Za-z0-9_.\-]+>", header), header
    url = header[1:-1]
    assert url.startswith(app.config["BASE_URL"].rstrip("/") + "/unsubscribe/")

    text = body_text(message).replace("\r\n", "\n")
    assert text.startswith("Hello Ada Yes")
    assert "Neglect strategy launched.\nRead it on the website.\n\nThe next forum is in July." in text
    assert f"You get this email because you agreed to receive safeguarding updates from {app.config['PARTNERSHIP_NAME']}" in text
    assert url in text
    html = body_html(message).replace("\r\n", "\n")
    assert f'<a href="{url}" style="color:#1d70b8">Unsubscribe</a>' in html
    assert "Neglect strategy launched.<br>\nRead it on the website.</p>" in html
    # Each person's link is their own.
    [other] = smtp_server.to("bea@example.org")
    assert other["List-Unsubscribe"] != header and "Hello Person" in body_text(other)

    # The mail provider's one-click POST to the header's URL withdraws Ada's consent.
    response = client.post(urlsplit(url).path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    db.session.rollback()
    assert db.session.get(User, people["a_yes"].id).consent_updates is False
    assert db.session.get(User, people["b_yes"].id).consent_updates is True


def test_the_text_is_escaped_in_the_html_part_and_kept_as_typed_in_the_text_part(people):
    people["a_yes"].name = "Ada <b>&</b> Co"
    db.session.commit()
    bulletin = _draft(people["coordinator"], agency_id=people["agencies"]["health_a"].id,
                      body='See <script>alert("x")</script> & more')
    services.send(bulletin.id, people["coordinator"])
    message = db.session.scalars(select(Outbox)).one()
    assert "<script>" not in message.html_body
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more" in message.html_body
    assert "Hello Ada &lt;b&gt;&amp;&lt;/b&gt; Co" in message.html_body
    assert 'See <script>alert("x")</script> & more' in message.text_body
    assert "Hello Ada <b>&</b> Co" in message.text_body
    headers = json.loads(message.headers_json)
    assert headers["List-Unsubscribe"] == f"<{services.unsubscribe_url(people['a_yes'].id)}>"
    assert message.dedupe_key == f"bulletin:{bulletin.id}:{people['a_yes'].id}"


def test_paragraphs_are_split_on_blank_lines():
    assert services.paragraphs("One\r\ntwo\n\n\n  \nThree\n") == [["One", "two"], ["Three"]]
    assert services.body_text("One\n\n\nTwo  ") == "One\n\nTwo"


# ---------------------------------------------------------------------------
# The coordinators' pages
# ---------------------------------------------------------------------------

def test_a_coordinator_writes_previews_and_sends_a_bulletin(people, login_as):
    client = login_as(people["coordinator"])
    page = client.get("/manage/bulletins").get_data(as_text=True)
    assert "3 people currently agree to receive updates" in page
    response = client.post("/manage/bulletins/new", data={
        "subject": "  Safeguarding update: June  ", "body": "First paragraph.\r\n\r\nSecond <em>paragraph</em>.",
        "sector": "health", "agency": ""})
    assert response.status_code == 302
    bulletin = db.session.scalars(select(Bulletin)).one()
    assert response.headers["Location"].endswith(f"/manage/bulletins/{bulletin.id}")
    assert bulletin.subject == "Safeguarding update: June" and bulletin.sector == Sector.HEALTH
    assert bulletin.body == "First paragraph.\n\nSecond <em>paragraph</em>." and bulletin.sent_at is None
    page = client.get(f"/manage/bulletins/{bulletin.id}").get_data(as_text=True)
    assert "This will be sent to 2 people." in page
    assert "Second &lt;em&gt;paragraph&lt;/em&gt;." in page

    response = client.post(f"/manage/bulletins/{bulletin.id}/edit", data={
        "subject": "Safeguarding update: June", "body": "Changed.", "sector": "",
        "agency": str(people["agencies"]["school"].id)})
    assert response.status_code == 302
    assert "This will be sent to 1 person." in client.get(f"/manage/bulletins/{bulletin.id}").get_data(as_text=True)

    page = client.post(f"/manage/bulletins/{bulletin.id}/send", follow_redirects=True).get_data(as_text=True)
    assert "Bulletin sent to 1 person" in page
    assert _outbox_recipients() == ["sol@example.org"]
    page = client.get("/manage/bulletins").get_data(as_text=True)
    assert "Safeguarding update: June" in page and "There are no drafts." in page


BAD_INPUT = [
    ({"subject": "", "body": BODY}, "Enter a subject"),
    ({"subject": "   ", "body": BODY}, "Enter a subject"),
    ({"subject": "S" * 201, "body": BODY}, "Subject must be 200 characters or fewer"),
    ({"subject": "Update\r\nBcc: everyone@example.org", "body": BODY}, "Subject must be on one line"),
    ({"subject": "Update\u2028two", "body": BODY}, "Subject must be on one line"),
    ({"subject": "Update", "body": " \r\n "}, "Enter the bulletin text"),
    ({"subject": "Update", "body": "x" * 20_001}, "The bulletin text must be 20,000 characters or fewer"),
    ({"subject": "Update", "body": BODY, "sector": "martians"}, "Select a sector from the list"),
    ({"subject": "Update", "body": BODY, "sector": ["health", "police"]}, "Select a sector from the list"),
    ({"subject": "Update", "body": BODY, "agency": "999999"}, "Select an agency from the list"),
    ({"subject": "Update", "body": BODY, "agency": "٣"}, "Select an agency from the list"),
]


@pytest.mark.parametrize(("data", "message"), BAD_INPUT)
def test_bad_input_shows_a_govuk_error_and_saves_nothing(people, login_as, data, message):
    client = login_as(people["coordinator"])
    response = client.post("/manage/bulletins/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "govuk-error-summary" in page and message in page
    assert "<title>Error: Write a bulletin" in page
    assert db.session.scalar(select(func.count(Bulletin.id))) == 0


def test_an_inactive_agency_is_not_offered_and_is_refused(people, login_as):
    inactive = AgencyFactory(name="Closed Clinic", active=False)
    client = login_as(people["coordinator"])
    assert "Closed Clinic" not in client.get("/manage/bulletins/new").get_data(as_text=True)
    response = client.post("/manage/bulletins/new", data={"subject": "Update", "body": BODY, "agency": str(inactive.id)})
    assert response.status_code == 400 and "Select an agency from the list" in response.get_data(as_text=True)
    with pytest.raises(services.InvalidBulletin):
        _draft(people["coordinator"], agency_id=inactive.id)
    assert db.session.scalar(select(func.count(Bulletin.id))) == 0


def test_bad_input_on_edit_changes_nothing(people, login_as):
    bulletin = _draft(people["coordinator"])
    response = login_as(people["coordinator"]).post(f"/manage/bulletins/{bulletin.id}/edit",
                                                    data={"subject": "", "body": "New text"})
    assert response.status_code == 400 and "Enter a subject" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Bulletin, bulletin.id).body == BODY


def test_only_coordinators_reach_the_bulletin_pages(people, login_as, client):
    bulletin = _draft(people["coordinator"])
    professional = login_as(people["a_yes"])
    for url in ("/manage/bulletins", "/manage/bulletins/new", f"/manage/bulletins/{bulletin.id}",
                f"/manage/bulletins/{bulletin.id}/edit"):
        assert professional.get(url).status_code == 403
        assert "/sign-in" in client.get(url).headers["Location"]
    assert professional.post(f"/manage/bulletins/{bulletin.id}/send").status_code == 403
    assert _outbox_recipients() == []
    assert login_as(people["coordinator"]).get("/manage/bulletins/999999").status_code == 404


def test_the_service_refuses_a_subject_that_would_break_the_email_header(people):
    with pytest.raises(services.InvalidBulletin) as err:
        _draft(people["coordinator"], subject="June\nBcc: everyone@example.org")
    assert err.value.errors == {"subject": "Subject must be on one line"}
    assert db.session.scalar(select(func.count(Bulletin.id))) == 0

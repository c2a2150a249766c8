"""Evaluation form pages: filling in, drafts, errors, read-only once submitted, permissions."""
from __future__ import annotations

import re

import pytest
from flask import render_template_string
from sqlalchemy import func, select

from tests.evaluation.conftest import OUTCOMES, attended_booking, past_session, valid_answers, valid_post
from tests.factories import BookingFactory, CoordinatorFactory, CourseFactory, SessionFactory, UserFactory
from tests.sql import recorded_statements
from training.attendance.models import AttendanceOutcome
from training.db import utcnow
from training.evaluation import services
from training.evaluation.models import Answer, Evaluation, EvaluationStatus, Stage
from training.extensions import db


def _url(booking, stage: Stage | str) -> str:
    return f"/bookings/{booking.id}/evaluation/{getattr(stage, 'value', stage)}"


def _evaluation(booking, stage) -> Evaluation | None:
    db.session.commit()
    return db.session.scalar(select(Evaluation).where(Evaluation.booking_id == booking.id, Evaluation.stage == stage))


def _after_booking():
    course = CourseFactory(learning_outcomes="\n".join(OUTCOMES))
    return attended_booking(session=past_session(course=course))


def test_the_before_form_shows_the_questions_with_labelled_ends(login_as):
    booking = BookingFactory()
    page = login_as(booking.user).get(_url(booking, Stage.BEFORE))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "How would you rate your knowledge of this subject?" in html
    assert "1 means no knowledge, 5 means expert" in html
    assert 'name="knowledge" type="radio" value="5"' in html
    assert 'id="learning_needs"' in html
    assert ">Save and come back later<" in html and ">Submit<" in html


def test_the_after_form_asks_about_each_learning_outcome(login_as):
    booking = _after_booking()
    html = login_as(booking.user).get(_url(booking, Stage.AFTER)).get_data(as_text=True)
    for index, outcome in enumerate(OUTCOMES, 1):
        assert f'name="outcome_{index}"' in html
        assert outcome in html
    assert "Overall, how would you rate this course?" in html
    assert 'value="satisfactory"' in html


def test_the_follow_up_form_prefills_the_line_manager_from_the_account(login_as):
    booking = attended_booking(ended_days_ago=60, user=UserFactory(manager_name="Morgan Manager"))
    html = login_as(booking.user).get(_url(booking, Stage.FOLLOW_UP)).get_data(as_text=True)
    assert re.search(r'<textarea[^>]*name="manager_name"[^>]*>\s*Morgan Manager</textarea>', html)


def test_save_a_draft_then_come_back_and_submit(login_as):
    booking = _after_booking()
    client = login_as(booking.user)
    response = client.post(_url(booking, Stage.AFTER), data={"knowledge": "4", "outcome_2": "partly",
                                                              "action": "save"})
    assert response.status_code == 302 and response.headers["Location"] == _url(booking, Stage.AFTER)
    draft = _evaluation(booking, Stage.AFTER)
    assert draft.status == EvaluationStatus.DRAFT
    assert sorted((a.question.key, a.outcome_index, a.rating, a.choice) for a in draft.answers) == [
        ("knowledge", 0, 4, None), ("outcomes", 2, None, "partly")]

    html = client.get(_url(booking, Stage.AFTER)).get_data(as_text=True)
    assert "You can come back and finish this form later" in html
    assert "You saved a draft of this form on" in html
    assert re.search(r'name="knowledge" type="radio" value="4" checked', html)
    assert re.search(r'name="outcome_2" type="radio" value="partly" checked', html)

    response = client.post(_url(booking, Stage.AFTER), data=valid_post(Stage.AFTER))
    assert response.status_code == 302
    assert _evaluation(booking, Stage.AFTER).status == EvaluationStatus.SUBMITTED


def test_a_submitted_form_is_shown_read_only(login_as):
    booking = BookingFactory()
    client = login_as(booking.user)
    client.post(_url(booking, Stage.BEFORE), data=valid_post(Stage.BEFORE))
    page = client.get(_url(booking, Stage.BEFORE))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Thank you. Your form has been submitted" in html
    assert "You submitted this form on" in html
    assert "2 out of 5" in html and "How to refer a concern" in html
    assert "<form method=\"post\" action=\"/bookings" not in html
    assert 'type="radio"' not in html


def test_posting_to_a_submitted_form_changes_nothing(login_as):
    booking = BookingFactory()
    client = login_as(booking.user)
    client.post(_url(booking, Stage.BEFORE), data=valid_post(Stage.BEFORE))
    response = client.post(_url(booking, Stage.BEFORE), data=valid_post(Stage.BEFORE) | {"knowledge": "5"},
                           follow_redirects=True)
    assert "You have already submitted this form. It cannot be changed" in response.get_data(as_text=True)
    ratings = [a.rating for a in _evaluation(booking, Stage.BEFORE).answers if a.question.key == "knowledge"]
    assert ratings == [2]


def test_submitting_with_missing_answers_shows_gov_uk_errors_and_keeps_what_was_entered(login_as):
    booking = _after_booking()
    response = login_as(booking.user).post(_url(booking, Stage.AFTER), data={
        "knowledge": "3", "outcome_1": "met", "do_differently": "", "comments": "Good venue", "action": "submit"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "<title>Error: After the course" in html
    assert "govuk-error-summary" in html
    assert 'href="#confidence"' in html
    assert "Select how confident you feel to act on concerns about this subject" in html
    assert "Select whether the learning outcome ‘Know how to make a referral’ was met" in html
    assert "Enter what you will do differently in your practice" in html
    assert re.search(r'name="knowledge" type="radio" value="3" checked', html)
    assert "Good venue" in html
    assert _evaluation(booking, Stage.AFTER) is None


@pytest.mark.parametrize("bad", ["0", "6", "abc"])
def test_a_rating_out_of_range_is_an_error_not_a_500(login_as, bad):
    booking = BookingFactory()
    response = login_as(booking.user).post(_url(booking, Stage.BEFORE),
                                           data=valid_post(Stage.BEFORE) | {"knowledge": bad})
    assert response.status_code == 400
    assert "Select a rating from 1 to 5" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Answer.id))) == 0


def test_an_unknown_button_value_saves_a_draft_rather_than_submitting(login_as):
    booking = BookingFactory()
    login_as(booking.user).post(_url(booking, Stage.BEFORE), data=valid_post(Stage.BEFORE, action="nonsense"))
    assert _evaluation(booking, Stage.BEFORE).status == EvaluationStatus.DRAFT


def test_a_form_that_is_not_open_says_why(login_as):
    booking = BookingFactory(session=past_session())  # not marked attended yet
    client = login_as(booking.user)
    page = client.get(_url(booking, Stage.AFTER))
    assert page.status_code == 200
    assert "once the trainer has marked you as attended" in page.get_data(as_text=True)
    response = client.post(_url(booking, Stage.AFTER), data=valid_post(Stage.AFTER))
    assert response.status_code == 302
    assert _evaluation(booking, Stage.AFTER) is None
    before = client.get(_url(booking, Stage.BEFORE)).get_data(as_text=True)
    assert "This form closed when the course started" in before


def test_unknown_stage_or_booking_is_404(login_as):
    booking = BookingFactory()
    client = login_as(booking.user)
    assert client.get(_url(booking, "during")).status_code == 404
    assert client.get(f"/bookings/{booking.id + 1000}/evaluation/before").status_code == 404
    assert client.get("/bookings/99999999999/evaluation/before").status_code == 404


def test_another_persons_form_is_404_even_for_a_coordinator(login_as):
    booking = BookingFactory()
    for someone_else in (UserFactory(), CoordinatorFactory()):
        client = login_as(someone_else)
        assert client.get(_url(booking, Stage.BEFORE)).status_code == 404
        assert client.post(_url(booking, Stage.BEFORE), data=valid_post(Stage.BEFORE)).status_code == 404
    assert _evaluation(booking, Stage.BEFORE) is None


def test_anonymous_people_are_sent_to_sign_in(client):
    booking = BookingFactory()
    response = client.get(_url(booking, Stage.BEFORE))
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    response = client.get(f"/manage/sessions/{booking.session_id}/evaluations")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_coordinators_see_who_has_not_returned_each_form(login_as):
    session = past_session(ended_days_ago=2)
    done = attended_booking(session=session, user=UserFactory(name="Dana Done"))
    attended_booking(session=session, user=UserFactory(name="Nell Notyet", email="nell@example.org"))
    services.save(booking_id=done.id, stage=Stage.AFTER, actor=done.user, answers=valid_answers(Stage.AFTER),
                  now=utcnow(), submit=True)
    page = login_as(CoordinatorFactory()).get(f"/manage/sessions/{session.id}/evaluations")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    after = html[html.index(">After the course<"):html.index(">Follow-up with your line manager<")]
    assert "1 of 2 people has not submitted this form" in after
    assert "Nell Notyet" in after and "nell@example.org" in after and "Dana Done" not in after
    assert "The form opens on" in html[html.index(">Follow-up with your line manager<"):]


def test_the_non_respondents_page_is_for_coordinators_only(login_as):
    session = SessionFactory()
    assert login_as(UserFactory()).get(f"/manage/sessions/{session.id}/evaluations").status_code == 403
    assert login_as(CoordinatorFactory()).get(f"/manage/sessions/{session.id + 1}/evaluations").status_code == 404


def test_the_outstanding_partial_lists_forms_with_links(app, login_as):
    person = UserFactory()
    booking = BookingFactory(user=person)
    attended = attended_booking(user=person, outcome=AttendanceOutcome.PARTIAL)
    with app.test_request_context():
        from flask_login import login_user, logout_user

        login_user(person)
        html = render_template_string('{% include "evaluation/_outstanding.html" %}')
        logout_user()
    assert "Evaluation forms to fill in" in html
    assert f'href="{_url(booking, Stage.BEFORE)}"' in html
    assert f'href="{_url(attended, Stage.AFTER)}"' in html
    with app.test_request_context():
        html = render_template_string('{% include "evaluation/_outstanding.html" %}')
    assert html.strip() == ""


def _forms_to_fill_in(person, n: int, title: str = "Attended") -> list:
    """n after-course forms for `person`, on courses that ended 1..n days ago (latest first)."""
    return [attended_booking(user=person, session=past_session(ended_days_ago=day,
                                                               course=CourseFactory(title=f"{title} {day}")))
            for day in range(1, n + 1)]


def _listed(html: str) -> list[str]:
    return re.findall(r'<td class="govuk-table__cell">(Attended \d+)</td>', html)


def test_my_training_lists_the_first_ten_forms_and_links_to_the_rest(login_as):
    person = UserFactory()
    _forms_to_fill_in(person, 12)
    web = login_as(person)
    html = web.get("/my-training").get_data(as_text=True)
    assert _listed(html) == [f"Attended {d}" for d in range(1, 11)]
    assert '<a class="govuk-link" href="/my-training/evaluations">See all your 12 evaluation forms to fill in</a>' in html
    every = web.get("/my-training/evaluations").get_data(as_text=True)
    assert _listed(every) == [f"Attended {d}" for d in range(1, 13)]  # 25 a page: all of them


def test_my_training_does_not_link_to_the_rest_when_all_forms_are_shown(login_as):
    person = UserFactory()
    _forms_to_fill_in(person, 3)
    html = login_as(person).get("/my-training").get_data(as_text=True)
    assert len(_listed(html)) == 3 and "/my-training/evaluations" not in html


def test_forms_to_fill_in_come_a_page_at_a_time(login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "EVALUATION_FORMS_PAGE_SIZE", 5)
    person = UserFactory()
    _forms_to_fill_in(person, 12)
    web = login_as(person)
    second = web.get("/my-training/evaluations?page=2").get_data(as_text=True)
    assert _listed(second) == [f"Attended {d}" for d in range(6, 11)]
    assert "Showing 6 to 10 of 12." in second and "(page 2 of 3)" in second
    assert 'href="/my-training/evaluations?page=3"' in second
    assert _listed(web.get("/my-training/evaluations?page=99").get_data(as_text=True)) == ["Attended 11", "Attended 12"]
    assert web.get("/my-training/evaluations?page=x").status_code == 200


def test_forms_to_fill_in_are_only_your_own_and_need_sign_in(client, login_as):
    _forms_to_fill_in(UserFactory(), 2)
    anonymous = client.get("/my-training/evaluations")
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]
    html = login_as(UserFactory()).get("/my-training/evaluations").get_data(as_text=True)
    assert "You have no evaluation forms to fill in." in html and _listed(html) == []


def test_forms_to_fill_in_page_queries_do_not_grow_with_history(login_as):

    counts = []
    for n in (2, 30):
        person = UserFactory()
        _forms_to_fill_in(person, n, title=f"History of {n}")
        web = login_as(person)
        for url in ("/my-training/evaluations", "/my-training"):
            web.get(url)
            with recorded_statements() as statements:
                assert web.get(url).status_code == 200
            counts.append(len(statements.queries))
    assert counts[:2] == counts[2:]


def _non_respondents_page_queries(client, session_id: int) -> int:

    with recorded_statements() as statements:
        response = client.get(f"/manage/sessions/{session_id}/evaluations")
    assert response.status_code == 200
    return len(statements.queries)


def test_the_non_respondents_page_queries_do_not_grow_with_the_session(login_as):
    client = login_as(CoordinatorFactory())
    session = past_session(ended_days_ago=60)
    for _ in range(2):
        attended_booking(session=session)
    few = _non_respondents_page_queries(client, session.id)
    for _ in range(6):
        booking = attended_booking(session=session)
        services.save(booking_id=booking.id, stage=Stage.AFTER, actor=booking.user, answers={"knowledge": 2},
                      now=utcnow(), submit=False)
    assert _non_respondents_page_queries(client, session.id) == few

"""The subgroup summary page over HTTP: who may see it, the known year's figures as shown,
the period form and its errors, and a constant number of queries."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from tests.factories import CoordinatorFactory, TrainerFactory, UserFactory
from tests.reports.dataset import A2, C1, C2, C5, W1, build_known_year
from tests.reports.summary_helpers import page_tables, text_of
from tests.sql import recorded_statements
from training.accounts.models import Agency, Role
from training.db import utcnow
from training.evaluation.models import QualityReview, ReviewStatus
from training.evaluation.results import current_financial_year
from training.extensions import db
from training.reports.presentation import pounds
from training.timeutil import format_date

YEAR = "from=2019-04-01&to=2020-03-31"
URLS = ["/reports/summary", "/reports/summary.pdf", "/reports/summary.csv?table=headline-figures",
        "/reports/summary.xlsx"]


@pytest.fixture
def known():
    return build_known_year()


@pytest.fixture
def coordinator(login_as):
    return login_as(CoordinatorFactory())


def _page(client, query: str = YEAR) -> str:
    response = client.get(f"/reports/summary?{query}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _numeric(text: str) -> int:
    return int(text.replace(",", ""))


# ---------------------------------------------------------------------------
# Who may see it
# ---------------------------------------------------------------------------

def test_people_signed_out_are_sent_to_sign_in(client):
    for url in URLS:
        response = client.get(url)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"], url


@pytest.mark.parametrize("roles", [
    [Role.PROFESSIONAL], [Role.PROFESSIONAL, Role.TRAINER], [Role.PROFESSIONAL, Role.AGENCY_LEAD],
    [Role.PROFESSIONAL, Role.SCRUTINEER],
])
def test_only_coordinators_may_see_the_summary(login_as, roles):
    client = login_as(UserFactory(roles=roles))
    for url in URLS:
        assert client.get(url).status_code == 403, (url, roles)


def test_trainer_is_refused_even_with_a_period(login_as, known):
    client = login_as(TrainerFactory())
    assert client.get(f"/reports/summary?{YEAR}").status_code == 403


# ---------------------------------------------------------------------------
# The known year's figures on the page
# ---------------------------------------------------------------------------

def test_headline_figures_match_the_annual_report(coordinator, known):
    html = _page(coordinator)
    text = text_of(html)
    assert "26 training sessions and 3 workshops, training 670 multi-agency professionals." in text
    assert "1 April 2019 to 31 March 2020" in text
    assert "compared with 1 April 2018 to 31 March 2019" in text
    rows = {row[0]: row[1:] for row in page_tables(html)["headline"][1:]}
    now, before = known.headline, known.previous_headline
    assert rows["Training sessions delivered"] == ["26", str(before.training_sessions),
                                                   f"▲ up {26 - before.training_sessions} from {before.training_sessions}"]
    assert rows["Workshops delivered"][:2] == ["3", str(before.workshops)]
    assert rows["Professionals trained"][:2] == ["670", str(before.professionals_trained)]
    assert rows["Total attendances"][:2] == [f"{now.attendances:,}", str(before.attendances)]
    assert rows["Places offered"][:2] == [f"{now.places_offered:,}", str(before.places_offered)]
    assert rows["Sessions cancelled"][:2] == [str(now.cancelled_sessions), str(before.cancelled_sessions)]
    fill = round(100 * now.attendances / now.places_offered, 1)
    assert rows["Fill rate"][0] == f"{fill:g}%"
    # The change is in words, not only an arrow (the arrow is hidden from screen readers).
    assert 'aria-hidden="true">▲</span> up 24 from 2' in html


def test_attendance_by_agency_sector_and_course_with_shares(coordinator, known):
    tables = page_tables(_page(coordinator))
    total = known.headline.attendances
    by_agency = {row[0]: row[1:] for row in tables["by-agency"][1:]}
    assert by_agency == {agency: [f"{n:,}", f"{round(100 * n / total, 1):g}%"] for agency, n in known.by_agency.items()}
    by_sector = {row[0]: _numeric(row[1]) for row in tables["by-sector"][1:]}
    assert by_sector == {sector.label: n for sector, n in known.by_sector.items()}
    by_course = {row[0]: _numeric(row[1]) for row in tables["by-course"][1:]}
    assert by_course == known.by_course
    # Largest first, as the chart shows them.
    counts = [_numeric(row[1]) for row in tables["by-agency"][1:]]
    assert counts == sorted(counts, reverse=True)


def test_every_chart_has_its_table_after_it(coordinator, known):
    html = _page(coordinator)
    images = re.findall(r'<img class="app-chart__image[^"]*" src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="([^"]+)"', html)
    assert len(images) == 4
    assert images[0].startswith("Bar chart of attendances by agency. Largest: Thameside Children&#39;s Social Care 217")
    assert images[3].startswith("Bar chart of overall course ratings: Excellent ")
    for name in ("by-agency", "by-sector", "by-course", "ratings"):
        chart, table = html.index(f'data-chart="{name}"'), html.index(f'data-table="{name}"')
        # The chart's own table comes next: no other chart or table in between.
        assert chart < table and not re.search(r"data-(chart|table)=", html[chart + 12:table]), name


def test_ratings_shift_and_response_rates(coordinator, known):
    html = _page(coordinator)
    tables = page_tables(html)
    ratings = {row[0]: row[1:3] for row in tables["ratings"][1:]}
    total = sum(known.ratings.values())
    assert ratings == {r.label: [str(n), f"{round(100 * n / total, 1):g}%"] for r, n in known.ratings.items()}
    assert [row[0] for row in tables["ratings"][1:]] == ["Excellent", "Good", "Satisfactory", "Poor"]
    per_course = {row[0]: [int(c) for c in row[1:]] for row in tables["ratings-by-course"][1:]}
    assert per_course == {course: [*counts.values(), sum(counts.values())]
                          for course, counts in known.ratings_by_course.items()}
    shift = {row[0]: row[1:] for row in tables["shift"][1:]}
    people, before, after = known.shifts["knowledge"]
    assert shift["Knowledge"] == [f"{before:.1f}", f"{after:.1f}", f"{after - before:+.1f}", str(people)]
    answered, booked = known.response_rate
    assert f"{answered} of {booked} ({round(100 * answered / booked, 1):g}%)" in text_of(html)


def test_non_attendance_rates_and_charges_in_pounds(coordinator, known):
    html = _page(coordinator)
    tables = page_tables(html)
    rows = {row[0]: row[1:] for row in tables["non-attendance"][1:]}
    for agency, expected in known.non_attendance.items():
        assert rows[agency][:2] == [str(expected.booked), str(expected.did_not_attend)], agency
        assert rows[agency][3] == str(expected.late_cancellations), agency
    charges = {row[0]: row[1:] for row in tables["charges"][1:]}
    for agency, expected in known.non_attendance.items():
        assert charges[agency] == [expected.sector.label, str(expected.half_days), str(expected.full_days),
                                   pounds(expected.charge_pence)], agency
    assert charges["Total"] == [pounds(known.charge_pence)]
    assert re.fullmatch(r"£\d{1,3}(,\d{3})*\.\d{2}", pounds(known.charge_pence))
    assert "Agencies are charged £50.00 for each place" in text_of(html) and "£90.00 on a longer session" in text_of(html)


def test_demand_highlights_courses_where_demand_exceeded_places(coordinator, known):
    html = _page(coordinator)
    rows = {row[0]: row[1:] for row in page_tables(html)["demand"][1:]}
    for course, expected in known.demand.items():
        assert rows[course] == [str(expected.sessions), str(expected.places), str(expected.requests),
                                str(expected.waiting), "Yes" if expected.exceeded else "No"], course
    exceeded = [course for course, row in known.demand.items() if row.exceeded]
    assert exceeded  # the known year has some
    sentence = re.search(r'data-figure="demand-exceeded">(.*?)</p>', html, re.S)[1]
    sentence = " ".join(sentence.split())
    assert sentence.startswith(f"Demand exceeded the places offered on {len(exceeded)} course")
    for course in exceeded:
        assert course in sentence
    for course in set(known.demand) - set(exceeded):
        assert course not in sentence


def test_cancelled_sessions_comments_and_open_reviews(coordinator, known):
    html = _page(coordinator)
    tables = page_tables(html)
    assert tables["cancelled"][1:] == [[course, format_date(starts), reason] for course, starts, reason in known.cancelled]
    text = text_of(html)
    for comment in known.quotable_comments:
        assert f"“{comment}”" in text
    for hidden in ("The room was too cold", "Parking was difficult", "A draft: never quoted", "Outside the year"):
        assert hidden not in text
    reviews = db.session.scalars(select(QualityReview).where(QualityReview.status != ReviewStatus.CLOSED)
                                 .order_by(QualityReview.created_at)).all()
    assert [row[0] for row in tables["open-reviews"][1:]] == [f"{title} (review {r.id})" for (title, _s), r
                                                               in zip(known.open_reviews, reviews, strict=True)]
    for review in reviews:
        assert f'href="/reviews/{review.id}"' in html


def test_names_and_emails_are_never_shown(coordinator, known):
    text = text_of(_page(coordinator))
    assert "Delegate 1 " not in text and "@known-year.example" not in text and "Walk-in 1" not in text


def test_hostile_names_are_escaped(coordinator, known):
    db.session.execute(update(Agency).where(Agency.name == A2).values(name="<script>alert(1)</script>"))
    db.session.commit()
    html = _page(coordinator)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_downloads_are_linked_with_the_period(coordinator, known):
    html = _page(coordinator)
    assert 'href="/reports/summary.pdf?from=2019-04-01&amp;to=2020-03-31"' in html
    assert 'href="/reports/summary.xlsx?from=2019-04-01&amp;to=2020-03-31"' in html
    assert 'href="/reports/summary.csv?table=attendance-by-agency&amp;from=2019-04-01&amp;to=2020-03-31"' in html
    assert len(page_tables(html)) >= 10


# ---------------------------------------------------------------------------
# The period
# ---------------------------------------------------------------------------

def _date_boxes(html: str, name: str) -> tuple[str, str, str]:
    return tuple(re.search(rf'id="{name}-{part}" name="{name}" type="text" value="([^"]*)"', html)[1]
                 for part in ("day", "month", "year"))


def test_default_is_the_current_financial_year_with_quick_links(coordinator):
    year = current_financial_year(utcnow())
    html = _page(coordinator, "")
    assert _date_boxes(html, "from") == ("1", "4", str(year.first.year))
    assert _date_boxes(html, "to") == ("31", "3", str(year.last.year))
    text = text_of(html)
    assert f"{year.first.year} to {year.last.year} (this financial year)" in text
    assert f'href="/reports/summary?from={year.first.year}-04-01&amp;to={year.last.year}-03-31" aria-current="page"' in html
    for back in (1, 2, 3):
        first = year.first.year - back
        assert f'href="/reports/summary?from={first}-04-01&amp;to={first + 1}-03-31"' in html
    assert "0 training sessions and 0 workshops, training 0 multi-agency professionals." in text
    assert "No one attended a session in this period." in text


def test_date_boxes_and_iso_dates_give_the_same_summary(coordinator, known):
    boxes = _page(coordinator, "from=1&from=4&from=2019&to=31&to=3&to=2020")
    assert _date_boxes(boxes, "from") == ("1", "4", "2019") and _date_boxes(boxes, "to") == ("31", "3", "2020")
    assert page_tables(boxes) == page_tables(_page(coordinator))


def test_one_date_alone_means_the_rest_of_its_financial_year(coordinator, known):
    html = _page(coordinator, "from=1&from=10&from=2019")
    assert "1 October 2019 to 31 March 2020" in text_of(html)
    assert _date_boxes(html, "to") == ("31", "3", "2020")
    html = _page(coordinator, "to=2019-06-30")
    assert "1 April 2019 to 30 June 2019" in text_of(html)


def test_a_session_on_31_march_is_in_the_old_year_and_1_april_in_the_new(coordinator, known):
    # The known year's first session starts at 00:30 on 1 April 2019 (23:30 UTC on 31 March),
    # and a session at 23:30 on 31 March 2019 belongs to the year before.
    day_one = page_tables(_page(coordinator, "from=2019-04-01&to=2019-04-01"))
    assert {row[0]: row[1] for row in day_one["by-course"][1:]} == {C1: "30"}
    last_day = page_tables(_page(coordinator, "from=2019-03-31&to=2019-03-31"))
    assert [row[0] for row in last_day["by-course"][1:]] == [C1]
    last_of_year = page_tables(_page(coordinator, "from=2020-03-31&to=2020-03-31"))
    assert [row[0] for row in last_of_year["by-course"][1:]] == [W1]


def test_a_very_long_period_is_allowed(coordinator, known):
    html = _page(coordinator, "from=1900-01-01&to=2100-12-31")
    assert "1 January 1900 to 31 December 2100" in text_of(html)
    courses = {row[0] for row in page_tables(html)["by-course"][1:]}
    assert {C1, C2, C5, W1} <= courses


@pytest.mark.parametrize("query, message", [
    ("from=31&from=2&from=2020", "From date must be a real date"),
    ("from=1&from=&from=2020", "From date must include a month"),
    ("from=1&from=4&from=20", "Year must include 4 numbers"),
    ("to=x&to=y&to=z", "To date must be a real date"),
    ("from=2020-02-30", "From date must be a real date"),
    ("from=tomorrow", "From date must be a real date"),
    ("from=5&from=12", "From date must include a year"),
    ("from=1&from=1&from=1899", "From date must be in 1900 or later"),
    ("to=1&to=1&to=2101", "To date must be in 2100 or earlier"),
    ("from=2020-04-01&to=2020-03-31", "To date must be the same as or after the from date"),
    ("from=99999999999999999999&from=1&from=2020", "From date must be a real date"),
])
def test_bad_dates_show_the_form_with_an_error_and_a_400(coordinator, query, message):
    for url in ("/reports/summary", "/reports/summary.pdf", "/reports/summary.xlsx",
                "/reports/summary.csv?table=headline-figures"):
        sep = "&" if "?" in url else "?"
        response = coordinator.get(f"{url}{sep}{query}")
        assert response.status_code == 400, url
        assert response.mimetype == "text/html"
        html = response.get_data(as_text=True)
        assert "govuk-error-summary" in html and message in html, url
        assert "<title>Error: Subgroup summary" in html
        assert 'data-table="headline"' not in html


def test_the_same_dates_are_fine(coordinator):
    assert coordinator.get("/reports/summary?from=2020-04-01&to=2020-04-01").status_code == 200


# ---------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------

def _queries(client) -> int:
    with recorded_statements() as statements:
        _page(client)
    return len(statements)


def test_the_page_runs_the_same_number_of_queries_whatever_the_data(coordinator):
    empty = _queries(coordinator)
    build_known_year()
    full = _queries(coordinator)
    assert full == empty
    assert full <= 25
    # Another period over the same data.
    with recorded_statements() as statements:
        _page(coordinator, "from=2018-04-01&to=2019-03-31")
    assert len(statements) == full



_PART = st.one_of(st.text(max_size=12), st.integers(-10**30, 10**30).map(str), st.sampled_from(["", "0", "31", "2020"]))


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.lists(_PART, max_size=4), end=st.lists(_PART, max_size=4))
def test_any_dates_give_a_page_or_a_400_never_a_500(coordinator, start, end):
    response = coordinator.get("/reports/summary", query_string={"from": start, "to": end})
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert "govuk-error-summary" in response.get_data(as_text=True)

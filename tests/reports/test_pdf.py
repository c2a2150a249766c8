"""The summary as a PDF: the known year's headline figures in the extracted text, the same
content as the page from one WeasyPrint pass, and the place kept for the compliance section."""
from __future__ import annotations

import io
import re

import pytest
from jinja2 import ChoiceLoader, DictLoader
from pypdf import PdfReader

from tests.factories import CoordinatorFactory
from tests.reports.dataset import build_known_year
from tests.reports.summary_helpers import handmade_summary, page_tables, text_of
from training.reports import pdf
from training.reports.presentation import pounds, summary_view

YEAR = "from=2019-04-01&to=2020-03-31"


@pytest.fixture
def known():
    return build_known_year()


@pytest.fixture
def coordinator(login_as):
    return login_as(CoordinatorFactory())


@pytest.fixture
def rendered(monkeypatch):
    """The HTML of every PDF rendered, in order."""
    calls: list[str] = []
    real = pdf.render_pdf

    def spy(html: str) -> bytes:
        calls.append(html)
        return real(html)

    monkeypatch.setattr(pdf, "render_pdf", spy)
    return calls


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_pdf_shows_the_headline_figures(coordinator, known):
    response = coordinator.get(f"/reports/summary.pdf?{YEAR}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="subgroup-summary-2019-04-01-to-2020-03-31.pdf"'
    assert response.data.startswith(b"%PDF-")
    text = _text(response.data)
    assert "Subgroup summary" in text and "1 April 2019 to 31 March 2020" in text
    assert "26 training sessions and 3 workshops, training 670 multi-agency professionals." in text
    assert f"Training sessions delivered 26 {known.previous_headline.training_sessions}" in text
    assert f"Professionals trained 670 {known.previous_headline.professionals_trained}" in text
    for agency, count in known.by_agency.items():
        assert f"{agency} {count:,}" in text, agency
    assert f"Total {pounds(known.charge_pence)}" in text
    for comment in known.quotable_comments:
        assert comment in text
    for _course, _starts, reason in known.cancelled:
        assert reason in text
    assert re.search(r"Page 1 of \d+", text)


def test_pdf_has_the_same_tables_as_the_page_from_one_render_pass(coordinator, known, rendered):
    page = coordinator.get(f"/reports/summary?{YEAR}").get_data(as_text=True)
    assert coordinator.get(f"/reports/summary.pdf?{YEAR}").status_code == 200
    assert len(rendered) == 1
    html = rendered[0]
    assert page_tables(html) == page_tables(page)
    charts = re.findall(r'<img class="app-chart__image[^"]*" src="data:image/svg\+xml;base64,', html)
    assert len(charts) == 4
    # Links in a PDF must work outside the site.
    assert re.search(r'href="http://[^"]+/reviews/\d+"', html)
    # Nothing to fetch: every image is inline.
    assert not re.search(r'src="(?!data:)', html)


def test_pdf_of_an_empty_period_says_so(coordinator):
    response = coordinator.get("/reports/summary.pdf?from=2001-04-01&to=2002-03-31")
    text = _text(response.data)
    assert "0 training sessions and 0 workshops, training 0 multi-agency professionals." in text
    assert "No one attended a session in this period." in text
    assert "No sessions were cancelled in this period." in text


def test_compliance_section_is_included_only_when_given(app, monkeypatch, rendered):
    marker = "COMPLIANCE SECTION FOR {{ compliance_section }}"
    monkeypatch.setattr(app.jinja_env, "loader", ChoiceLoader([
        DictLoader({"compliance/_summary_section.html": marker}), app.jinja_env.loader]))
    view = summary_view(handmade_summary())
    with app.test_request_context():
        without = pdf.summary_pdf(view)
        with_section = pdf.summary_pdf(view, compliance_section="2019 to 2020 round")
    assert "COMPLIANCE SECTION" not in rendered[0]
    assert "COMPLIANCE SECTION FOR 2019 to 2020 round" in rendered[1]
    assert "COMPLIANCE SECTION FOR 2019 to 2020 round" in _text(with_section.content)
    assert without.filename == with_section.filename == "subgroup-summary-2019-04-01-to-2020-03-31.pdf"


def test_handmade_summary_pdf_keeps_long_names_and_escapes_text(app, rendered):
    summary = handmade_summary(agencies=33, courses=25)
    summary.quotable_comments = ["<b>bold</b> & “quoted”"]
    with app.test_request_context():
        file = pdf.summary_pdf(summary_view(summary))
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; “quoted”" in rendered[0]
    text = _text(file.content)
    assert "Thameside and Riverside Integrated Children's Services Partnership Trust" in text
    assert "The chart shows the 20 largest of 33. The table lists them all." in text
    assert "Demand exceeded the places offered on 1 course: Multi-agency safeguarding (Level 2)" in text_of(rendered[0])

"""The compliance returns' overview is a section of the subgroup summary PDF for the financial
year the period starts in, and is left out when that year has no return round."""
from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from tests.compliance.helpers import lead_of, lines, open_round, return_for, submitted
from tests.factories import AgencyFactory, CoordinatorFactory


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.fixture
def coordinator(login_as):
    return login_as(CoordinatorFactory())


def test_the_pdf_has_the_compliance_section_of_the_periods_financial_year(coordinator):
    agency = AgencyFactory(name="Marsh Lane Primary School")
    round_ = open_round(2025, [agency])
    submitted(return_for(round_, agency), lead_of(agency), lines(100, 95, 3))

    response = coordinator.get("/reports/summary.pdf?from=2025-04-01&to=2026-03-31")

    assert response.status_code == 200
    text = _text(response.data)
    assert "Single-agency compliance returns" in text
    assert "Marsh Lane Primary School" in text
    assert "95%" in text


def test_the_pdf_leaves_the_section_out_for_a_year_without_a_round(coordinator):
    agency = AgencyFactory(name="Marsh Lane Primary School")
    open_round(2025, [agency])

    response = coordinator.get("/reports/summary.pdf?from=2024-04-01&to=2025-03-31")

    assert response.status_code == 200
    assert "Single-agency compliance returns" not in _text(response.data)

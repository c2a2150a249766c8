"""`flask report summary`: the figures as JSON for any period, and clear errors for bad dates."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from tests.reports.dataset import A1, C1, W1, build_known_year
from training.reports import cli


def _summary(runner, *args: str):
    return runner.invoke(args=["report", "summary", *args])


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_prints_every_figure_of_the_known_year_as_json(runner):
    known = build_known_year()
    figures = _json(_summary(runner, "--from", "2019-04-01", "--to", "2020-03-31", "--format", "json"))
    assert {key: figures[key] for key in known.contract_figures()} == known.contract_figures()
    reviews = figures.pop("open_reviews")
    assert figures == known.all_figures()
    assert [(r["course"], r["status"]) for r in reviews] == [(c, s.label) for c, s in known.open_reviews]
    figures["open_reviews"] = reviews
    # The figures in the annual report, as literals.
    assert (figures["training_sessions"], figures["workshops"], figures["professionals_trained"],
            figures["attendances"]) == (26, 3, 670, 740)
    assert figures["by_agency"][A1] == 217
    assert figures["by_sector"] == {"childrens-social-care": 217, "health": 210, "education": 186,
                                    "voluntary-community": 67, "police": 60}
    assert figures["by_course"][C1] == 240 and figures["by_course"][W1] == 60
    assert figures["ratings"] == {"excellent": 292, "good": 144, "satisfactory": 24, "poor": 24}
    assert (figures["did_not_attend"], figures["late_cancellations"]) == (14, 5)
    assert figures["period"] == {"from": "2019-04-01", "to": "2020-03-31"}
    assert figures["previous"]["period"] == {"from": "2018-04-01", "to": "2019-03-31"}
    assert figures["previous"]["training_sessions"] == 2
    # Keys keep the order of the tables: largest first.
    assert list(figures["by_agency"])[0] == A1


def test_year_option_is_the_financial_year(runner):
    build_known_year()
    by_year = _json(_summary(runner, "--year", "2019"))
    assert by_year["period"] == {"from": "2019-04-01", "to": "2020-03-31"}
    assert by_year["professionals_trained"] == 670


def test_a_shorter_period_and_text_output(runner):
    build_known_year()
    # The first session starts at 00:30 on 1 April 2019 London time (23:30 UTC on 31 March).
    figures = _json(_summary(runner, "--from", "2019-04-01", "--to", "2019-04-01"))
    assert (figures["training_sessions"], figures["attendances"]) == (1, 30)
    assert figures["previous"]["period"] == {"from": "2019-03-31", "to": "2019-03-31"}
    assert figures["previous"]["attendances"] == 8  # 23:30 on 31 March 2019
    result = _summary(runner, "--from", "2019-04-01", "--to", "2020-03-31", "--format", "text")
    assert result.exit_code == 0, result.output
    assert "Training sessions delivered: 26" in result.output
    assert "Professionals trained: 670" in result.output
    assert "Workshops delivered: 3" in result.output


def test_default_period_is_the_current_financial_year_in_london(runner, monkeypatch):
    # 23:30 UTC on 31 March 2020 is already 1 April in London.
    monkeypatch.setattr(cli, "utcnow", lambda: datetime(2020, 3, 31, 23, 30, tzinfo=UTC))
    figures = _json(_summary(runner))
    assert figures["period"] == {"from": "2020-04-01", "to": "2021-03-31"}
    monkeypatch.setattr(cli, "utcnow", lambda: datetime(2020, 3, 31, 22, 30, tzinfo=UTC))
    assert _json(_summary(runner))["period"] == {"from": "2019-04-01", "to": "2020-03-31"}


@pytest.mark.parametrize("args, message", [
    (["--from", "01/04/2019", "--to", "2020-03-31"], "Enter the date as YYYY-MM-DD"),
    (["--from", "2019-04-01", "--to", "2020-02-30"], "2020-02-30 is not a real date"),
    (["--from", "2019-13-01", "--to", "2020-03-31"], "2019-13-01 is not a real date"),
    (["--from", "yesterday", "--to", "2020-03-31"], "Enter the date as YYYY-MM-DD"),
    (["--from", "20190401", "--to", "2020-03-31"], "Enter the date as YYYY-MM-DD"),
    (["--from", "0001-04-01", "--to", "2020-03-31"], "Enter a date between 1900 and 2999"),
    (["--from", "2020-04-01", "--to", "2020-03-31"], "The start date (2020-04-01) must be on or before the end date"),
    (["--from", "2019-04-01"], "Give both --from and --to"),
    (["--to", "2020-03-31"], "Give both --from and --to"),
    (["--year", "2019", "--from", "2019-04-01", "--to", "2020-03-31"], "Give either --year or --from and --to"),
    (["--year", "nineteen"], "nineteen"),
    (["--format", "xml"], "xml"),
])
def test_bad_options_are_refused_clearly(runner, args, message):
    result = _summary(runner, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_the_same_day_is_a_valid_period(runner):
    figures = _json(_summary(runner, "--from", "2024-02-29", "--to", "2024-02-29"))
    assert figures["period"] == {"from": "2024-02-29", "to": "2024-02-29"}
    assert figures["attendances"] == 0


def test_resolve_period_returns_london_dates():
    assert cli.resolve_period(date(2019, 4, 1), date(2020, 3, 31), None).first == date(2019, 4, 1)
    assert cli.resolve_period(None, None, 2019).last == date(2020, 3, 31)

"""`flask report summary`: the summary's figures for any period, as JSON."""
from __future__ import annotations

import json
import re
from datetime import date

import click
from flask.cli import AppGroup

from ..db import utcnow
from ..evaluation.results import Period, current_financial_year, financial_year

report_cli = AppGroup("report", help="Reports for the Learning & Development Subgroup.")

#: Dates outside these years are almost certainly typing mistakes.
FIRST_YEAR, LAST_YEAR = 1900, 2999


class IsoDate(click.ParamType):
    """A calendar date written YYYY-MM-DD (a London date)."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip()
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            self.fail(f"Enter the date as YYYY-MM-DD, for example 2019-04-01 (not {value!r})", param, ctx)
        try:
            day = date.fromisoformat(text)
        except ValueError:
            self.fail(f"{text} is not a real date: check the month and day", param, ctx)
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            self.fail(f"Enter a date between {FIRST_YEAR} and {LAST_YEAR}", param, ctx)
        return day


def resolve_period(first: date | None, last: date | None, year: int | None) -> Period:
    """The period the options ask for: --from/--to, a financial --year, or the current financial year."""
    if year is not None:
        if first is not None or last is not None:
            raise click.UsageError("Give either --year or --from and --to, not both")
        return financial_year(date(year, 4, 1))
    if first is None and last is None:
        return current_financial_year(utcnow())
    if first is None or last is None:
        raise click.UsageError("Give both --from and --to, or neither for the current financial year")
    if first > last:
        raise click.BadParameter(f"The start date ({first.isoformat()}) must be on or before the end date "
                                 f"({last.isoformat()})", param_hint="'--from'")
    return Period(first, last)


def _text(figures: dict) -> str:
    period = figures["period"]
    lines = [
        f"Subgroup summary {period['from']} to {period['to']}",
        f"Training sessions delivered: {figures['training_sessions']}",
        f"Workshops delivered: {figures['workshops']}",
        f"Professionals trained: {figures['professionals_trained']}",
        f"Attendances: {figures['attendances']}",
        f"Places offered: {figures['places_offered']} (fill rate "
        f"{'-' if figures['fill_rate'] is None else str(figures['fill_rate']) + '%'})",
        f"Sessions cancelled: {figures['cancelled_sessions']}",
        "Ratings: " + ", ".join(f"{k.capitalize()} {v}" for k, v in figures["ratings"].items()),
        f"Did not attend: {figures['did_not_attend']}",
        f"Late cancellations: {figures['late_cancellations']}",
        "Attendance by agency:",
        *(f"  {name}: {count}" for name, count in figures["by_agency"].items()),
        "Attendees per course:",
        *(f"  {title}: {count}" for title, count in figures["by_course"].items()),
    ]
    return "\n".join(lines)


@report_cli.command("summary")
@click.option("--from", "first", type=IsoDate(), help="First day of the period (London date), e.g. 2019-04-01")
@click.option("--to", "last", type=IsoDate(), help="Last day of the period (London date), e.g. 2020-03-31")
@click.option("--year", type=click.IntRange(FIRST_YEAR, LAST_YEAR),
              help="The financial year starting in April of this year, e.g. 2019 for 2019-20")
@click.option("--format", "output", type=click.Choice(["json", "text"]), default="json", show_default=True)
def summary_command(first: date | None, last: date | None, year: int | None, output: str) -> None:
    """Print the subgroup summary's figures (the current financial year unless told otherwise)."""
    from .summary import build_summary

    period = resolve_period(first, last, year)
    figures = build_summary(period).figures()
    if output == "json":
        click.echo(json.dumps(figures, indent=2, ensure_ascii=False))
    else:
        click.echo(_text(figures))

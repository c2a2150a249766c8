"""People, rounds and figures for the compliance return tests."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.factories import AgencyFactory, CoordinatorFactory, UserFactory
from training.accounts.models import Role
from training.catalogue.models import Level
from training.compliance import services
from training.compliance.models import LEVELS, AgencyReturn
from training.compliance.services import LineFigures, Narrative, field_name
from training.extensions import db

NARRATIVE = Narrative("Evaluation forms and a practice audit every quarter",
                      "Level 3 is behind: two extra sessions commissioned for the autumn")


def lead_of(agency, **kwargs):
    return UserFactory(agency=agency, roles=[Role.PROFESSIONAL, Role.AGENCY_LEAD], **kwargs)


def scrutineer(**kwargs):
    return UserFactory(roles=[Role.PROFESSIONAL, Role.SCRUTINEER], **kwargs)


def coordinator(**kwargs):
    return CoordinatorFactory(**kwargs)


def open_round(year=2025, agencies=None, due_on=date(2026, 6, 30), actor=None):
    agencies = agencies if agencies is not None else [AgencyFactory()]
    return services.open_round(year, due_on, [a.id for a in agencies], actor or coordinator())


def return_for(round_, agency) -> AgencyReturn:
    db.session.expire_all()
    return db.session.scalar(select(AgencyReturn).where(AgencyReturn.round_id == round_.id,
                                                        AgencyReturn.agency_id == agency.id))


def reload(return_id) -> AgencyReturn:
    db.session.expire_all()
    return db.session.get(AgencyReturn, return_id)


def lines(in_scope=100, trained=90, courses=4, **by_level) -> dict[Level, LineFigures]:
    """Every level with the same figures, unless a level is given its own LineFigures."""
    out = {level: LineFigures(in_scope, trained, courses) for level in LEVELS}
    for name, figures in by_level.items():
        out[Level[name.upper()]] = figures
    return out


def form_data(figures: dict[Level, LineFigures] | None = None, narrative: Narrative = NARRATIVE,
              action: str = "save", version: int | None = None) -> dict[str, str]:
    figures = figures if figures is not None else lines()
    data = {"action": action, "quality_and_impact": narrative.quality_and_impact or "",
            "gaps_and_plans": narrative.gaps_and_plans or ""}
    if version is not None:
        data["version"] = str(version)
    for level in LEVELS:
        line = figures.get(level, LineFigures())
        for part in ("staff_in_scope", "trained_in_date", "courses_delivered"):
            value = getattr(line, part)
            data[field_name(level, part)] = "" if value is None else str(value)
        data[field_name(level, "notes")] = line.notes or ""
    return data


def submitted(agency_return, lead, figures=None, now=None):
    """Save complete figures and submit: the return as the scrutineer first sees it."""
    services.save_draft(agency_return.id, figures or lines(), NARRATIVE, lead, now)
    return services.submit(agency_return.id, lead, now)

"""Factories and helpers for course suggestions (kept here: tests/factories.py is shared)."""
from __future__ import annotations

import factory

from tests.factories import Base, UserFactory
from training.db import utcnow
from training.extensions import db
from training.suggestions.models import CourseSuggestion, SuggestionStatus


class SuggestionFactory(Base):
    """A submitted suggestion with its submission in the history, for the suggester's agency."""

    class Meta:
        model = CourseSuggestion

    title = factory.Sequence(lambda n: f"Suggested course {n}")
    need = "Practitioners are unsure how to respond to online harms."
    evidence = "Two local case reviews found missed signs of online grooming."
    audience = "Practitioners working directly with children and families"
    people_benefiting = 120
    suggested_by = factory.SubFactory(UserFactory)
    agency = factory.LazyAttribute(lambda o: o.suggested_by.agency)
    status = SuggestionStatus.SUBMITTED
    created_at = factory.LazyFunction(utcnow)

    @factory.post_generation
    def history(obj, create, extracted, **kwargs):
        obj.record_submission(obj.suggested_by, obj.created_at)
        if create:
            db.session.commit()

"""Fixtures for course suggestions: a professional, a coordinator, and suggestions at each step."""
from __future__ import annotations

import pytest

from tests.factories import CoordinatorFactory, UserFactory
from tests.suggestions.factories import SuggestionFactory
from training.extensions import db
from training.suggestions import services
from training.suggestions.models import CourseSuggestion


def reload(suggestion_id: int) -> CourseSuggestion:
    """The suggestion as the database holds it now (not the test session's cached copy)."""
    db.session.expire_all()
    return db.session.get(CourseSuggestion, suggestion_id)


@pytest.fixture
def professional():
    return UserFactory(name="Priya Professional")


@pytest.fixture
def coordinator():
    return CoordinatorFactory(name="Cora Coordinator")


@pytest.fixture
def submitted(professional) -> CourseSuggestion:
    return SuggestionFactory(suggested_by=professional, title="Safeguarding disabled children")


@pytest.fixture
def under_review(submitted, coordinator) -> CourseSuggestion:
    return services.start_review(submitted.id, coordinator)


@pytest.fixture
def agreed(under_review, coordinator) -> CourseSuggestion:
    return services.agree(under_review.id, coordinator, "A gap in the programme")


@pytest.fixture
def declined(under_review, coordinator) -> CourseSuggestion:
    return services.decline(under_review.id, coordinator, "Covered by the Level 3 course")

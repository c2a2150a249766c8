"""Course suggestion rules that refuse an action."""
from __future__ import annotations

from collections.abc import Mapping

from ..errors import DomainError


class SuggestionError(DomainError):
    """A suggestion action was refused; `field` names the form field the message belongs to."""

    message = "The suggestion could not be changed"
    field: str | None = None


class NotCoordinator(SuggestionError):
    message = "Only coordinators can review course suggestions"


class SuggestionNotFound(SuggestionError):
    message = "That suggestion does not exist"


class InvalidTransition(SuggestionError):
    """The suggestion's status does not allow this step (deciding before review, deciding twice)."""

    message = "That change cannot be made to this suggestion"


class ReasonRequired(SuggestionError):
    message = "Enter why the subgroup declined the suggestion"
    field = "reason"


class ReasonTooLong(SuggestionError):
    field = "reason"

    def __init__(self, limit: int) -> None:
        super().__init__(f"Reason must be {limit:,} characters or fewer")


class NotAgreed(SuggestionError):
    message = "Only an agreed suggestion can be turned into a draft course"


class CourseAlreadyCreated(SuggestionError):
    message = "A draft course has already been created from this suggestion"


class CourseTitleRace(SuggestionError):
    message = "Another course took this title at the same moment. Try again"


class InvalidSuggestion(SuggestionError):
    """What was entered breaks one or more rules; `errors` maps each form field to its message."""

    message = "There is a problem with the suggestion"

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(next(iter(self.errors.values()), None))

"""Evaluation rules that refuse an action."""
from ..errors import DomainError


class EvaluationLocked(DomainError):
    message = "You have already submitted this form. It cannot be changed"


class EvaluationNotOpen(DomainError):
    message = "This form is not open yet"


class EvaluationNotFound(DomainError):
    """No such form for this person: the view shows 404, so ids cannot be probed."""

    message = "Page not found"


class InvalidAnswers(DomainError):
    """Some answers are missing or not allowed; `errors` maps form field names to messages."""

    message = "There is a problem with your answers"

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__()


class InvalidReviewTransition(DomainError):
    message = "That change cannot be made to this review"

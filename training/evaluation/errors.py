"""Evaluation rules that refuse an action."""
from ..errors import DomainError


class EvaluationLocked(DomainError):
    message = "You have already submitted this form. It cannot be changed"


class EvaluationNotOpen(DomainError):
    message = "This form is not open yet"


class InvalidReviewTransition(DomainError):
    message = "That change cannot be made to this review"

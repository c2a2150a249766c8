"""Training needs analysis rules that refuse an action."""
from __future__ import annotations

from collections.abc import Mapping

from ..errors import DomainError


class NotAllowed(DomainError):
    message = "You cannot do that"


class NotCoordinator(NotAllowed):
    message = "Only coordinators can manage workforce groups and the training needs analysis"


class InvalidDetails(DomainError):
    """Details entered break one or more rules.

    `errors` maps each form field at fault to its message, so a form can show every problem
    next to its field at once.
    """

    message = "There is a problem with the details entered"

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(next(iter(self.errors.values()), None))

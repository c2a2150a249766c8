"""Catalogue rules that refuse an action."""
from __future__ import annotations

from collections.abc import Mapping

from ..errors import DomainError


class SessionAlreadyCancelled(DomainError):
    message = "This session has already been cancelled"


class NotCoordinator(DomainError):
    message = "Only coordinators can change the catalogue"


class SessionNotEditable(DomainError):
    """The session has started or been cancelled, so its details are fixed."""

    message = "You cannot change a session that has already started"


class InvalidDetails(DomainError):
    """Details entered break one or more rules.

    `errors` maps each form field at fault to its message, so a form can show every
    problem next to its field at once.
    """

    message = "There is a problem with the details entered"

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(next(iter(self.errors.values()), None))

"""Compliance return rules that refuse an action, each with a message fit to show the person."""
from __future__ import annotations

from ..errors import DomainError


class ComplianceError(DomainError):
    """A return action was refused; `field` names the form field the message belongs to, if any."""

    message = "The return could not be changed"
    field: str | None = None

    def __init__(self, message: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field


class ReturnNotFound(ComplianceError):
    """No such return, or one the person may not see: the view shows 404 so ids cannot be probed."""

    message = "Page not found"


class RoundNotFound(ComplianceError):
    message = "Page not found"


class NotAllowed(ComplianceError):
    message = "You cannot make this change to the return"


class InvalidTransition(ComplianceError):
    """The return is not in a state that allows this step."""

    def __init__(self, current, wanted) -> None:
        from .models import ReturnStatus

        self.current, self.wanted = current, wanted
        if current == ReturnStatus.ACCEPTED:
            message = "This return has been accepted and can no longer be changed"
        elif wanted == ReturnStatus.RESPONDED:
            message = "You can only respond once the Independent Scrutineer has challenged the return"
        elif wanted == ReturnStatus.CHALLENGED:
            message = ("The return has already been challenged: wait for the agency's response"
                       if current == ReturnStatus.CHALLENGED
                       else "A return can only be challenged once the agency has submitted it")
        elif wanted == ReturnStatus.ACCEPTED:
            message = ("Wait for the agency's response to the challenge before accepting the return"
                       if current == ReturnStatus.CHALLENGED
                       else "A return can only be accepted once the agency has submitted it")
        elif wanted == ReturnStatus.SUBMITTED:
            message = ("This return has already been submitted" if current.is_submitted
                       else "Save the figures as a draft before you submit the return")
        elif wanted == ReturnStatus.DRAFT:
            message = ("This return has been submitted and can no longer be changed" if current.is_submitted
                       else "This return has not been submitted, so there is nothing to reopen")
        else:
            message = "That change cannot be made to this return"
        super().__init__(message)


class ReturnLocked(ComplianceError):
    message = "This return has been submitted and can no longer be changed"


class StaleReturn(ComplianceError):
    message = ("Someone else changed this return after you opened it. "
               "Your changes have not been saved: check the figures below and make your changes again")


class InvalidFigures(ComplianceError):
    """Some figures are missing or impossible; `errors` maps form field names to messages."""

    message = "There is a problem with the figures"

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__()


class RoundExists(ComplianceError):
    field = "year"

    def __init__(self, label: str) -> None:
        super().__init__(f"A return round for {label} already exists")


class NoAgencies(ComplianceError):
    message = "Select at least one agency"
    field = "agencies"


class UnknownAgency(ComplianceError):
    message = "Select agencies from the list"
    field = "agencies"


class TextMissing(ComplianceError):
    pass


class BadDate(ComplianceError):
    pass

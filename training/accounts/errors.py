"""Account rules that refuse an action, each with a message for the person."""
from ..errors import DomainError


class EmailTaken(DomainError):
    message = "An account already exists with this email address"


class AgencyUnavailable(DomainError):
    message = "Select your agency"


class WrongPassword(DomainError):
    message = "Your current password is incorrect"


class OwnCoordinatorRole(DomainError):
    message = "You cannot remove your own coordinator role. Ask another coordinator to do this"


class OwnAccountStatus(DomainError):
    message = "You cannot deactivate your own account"


class AgencyNameTaken(DomainError):
    message = "An agency with this name already exists"


class RolesChangedMeanwhile(DomainError):
    message = "Someone else changed this person's roles at the same time. Check the roles and try again"


class SameEmail(DomainError):
    message = "Enter a different email address from the one you use now"


class InvalidLink(DomainError):
    """A reset or confirmation link that is tampered with, expired or already used."""

    message = "This link has expired or has already been used"

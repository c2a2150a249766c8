"""Attendance rules that refuse an action, each with a message for the person."""
from ..errors import DomainError


class AttendanceError(DomainError):
    """Base for attendance refusals; `field` names the form field the message belongs to."""

    message = "The register could not be changed"
    field: str | None = None


class NotSessionTrainer(AttendanceError):
    message = "Only the session's trainers and coordinators can take this register"


class RegisterNotOpen(AttendanceError):
    message = "You cannot take the register until the session has started"


class SessionWasCancelled(AttendanceError):
    message = "This session was cancelled, so it has no register"


class RegisterCompleted(AttendanceError):
    message = (
        "This register has been completed. Only a coordinator can change it now: "
        "contact the training team if something needs correcting"
    )


class RegisterIncomplete(AttendanceError):
    message = "Mark attendance for everyone booked before you complete the register"


class InvalidOutcome(AttendanceError):
    message = "Select attended, partially attended or did not attend"


class NotOnRegister(AttendanceError):
    message = "That person is not booked on this session, so they cannot be marked on its register"


class WalkInNameMissing(AttendanceError):
    message = "Enter the person's full name"
    field = "name"


class WalkInAgencyMissing(AttendanceError):
    message = "Select the person's agency"
    field = "agency"


class WalkInOutcomeInvalid(AttendanceError):
    message = "Select whether they attended or partially attended"
    field = "outcome"


class WalkInEmailInvalid(AttendanceError):
    message = "Enter an email address in the correct format, like name@example.com"
    field = "email"


class AlreadyOnRegister(AttendanceError):
    message = "This person is already on the register for this session"
    field = "email"


class WalkInNotFound(AttendanceError):
    message = "That walk-in is not on this register"

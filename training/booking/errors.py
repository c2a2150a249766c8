"""Booking rules that refuse an action, each with a message for the person."""
from ..errors import DomainError


class BookingClosed(DomainError):
    message = "Booking for this session has closed"


class CourseNotPublished(DomainError):
    message = "This course is not open for booking"


class SessionCancelledError(DomainError):
    message = "This session has been cancelled"


class SessionInPast(DomainError):
    message = "This session has already taken place"


class AlreadyBooked(DomainError):
    message = "You already have a booking or waiting list place for this session"


class SessionFull(DomainError):
    message = "This session is full"


class InvalidTransition(DomainError):
    message = "That change cannot be made to this booking"


class OfferExpired(DomainError):
    message = "This offer has expired and the place has gone to the next person waiting"


class NotAllowed(DomainError):
    message = "You cannot change this booking"


class TransferRefused(DomainError):
    message = "This booking cannot be transferred"


class PersonNotFound(DomainError):
    message = "There is no account with that email address"


class MoveRefused(DomainError):
    message = "This booking cannot be moved"


class ApprovalClosed(DomainError):
    message = "This booking no longer needs approval"


class ApprovalExpired(DomainError):
    message = "This approval link has expired"

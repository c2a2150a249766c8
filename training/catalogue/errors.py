"""Catalogue rules that refuse an action."""
from ..errors import DomainError


class SessionAlreadyCancelled(DomainError):
    message = "This session has already been cancelled"


class CapacityBelowBookings(DomainError):
    message = "Capacity cannot be lower than the number of places already taken"


class InvalidSessionTimes(DomainError):
    message = "The end time must be after the start time"

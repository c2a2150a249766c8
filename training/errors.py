"""The base for domain errors: each carries a message fit to show the person."""


class DomainError(Exception):
    """A rule refused the action; `message` says why in plain English."""

    message = "Something went wrong"

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)

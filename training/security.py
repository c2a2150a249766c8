"""Session security (placeholder)."""
from flask import Flask


def register_session_security(app: Flask) -> None:
    """Idle timeout and related session rules."""

"""Emails raised by booking and session events, written in the same transaction as the event."""
from __future__ import annotations

"""Emails for manager approval: the request to the manager, and the outcome to the delegate."""
from __future__ import annotations

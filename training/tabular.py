"""Spreadsheet safety shared by every CSV and Excel export.

People type agency names, course titles, comments and narratives: a cell starting with one of
these characters could be run as a formula when a spreadsheet opens the file (CSV or formula
injection), so every export neutralises such text.
"""
from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(text: str) -> bool:
    """Would a spreadsheet read this text as the start of a formula?"""
    return text.startswith(FORMULA_STARTS)


def neutralise(value):
    """Formula-like text with a leading apostrophe, so it shows as text; other values unchanged."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value

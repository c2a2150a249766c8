"""Hostile input: property-based posts to every form, stored XSS checks."""

"""Certificates (placeholder)."""
from flask import Blueprint

bp = Blueprint("certificates", __name__)

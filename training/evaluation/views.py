"""Evaluation forms (placeholder)."""
from flask import Blueprint

bp = Blueprint("evaluation", __name__)

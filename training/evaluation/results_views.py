"""Evaluation results and quality reviews (placeholder)."""
from flask import Blueprint

bp = Blueprint("evaluation_results", __name__)

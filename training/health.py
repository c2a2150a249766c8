"""Health check for load balancers (placeholder)."""
from flask import Blueprint

bp = Blueprint("health", __name__)

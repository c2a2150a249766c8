"""Attendance (placeholder)."""
from flask import Blueprint, render_template

bp = Blueprint("attendance", __name__)


@bp.get("/my-sessions")
def my_sessions():
    return render_template("catalogue/index.html")

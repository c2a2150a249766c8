"""Catalogue pages (placeholder until the catalogue views are written)."""
from flask import Blueprint, render_template

bp = Blueprint("catalogue", __name__)


@bp.get("/")
def index():
    """The public catalogue of upcoming sessions."""
    return render_template("catalogue/index.html")


@bp.get("/manage/")
def manage_index():
    """The coordinators' management home."""
    return render_template("catalogue/index.html")

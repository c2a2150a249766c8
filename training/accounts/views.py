"""Accounts (placeholder)."""
from flask import Blueprint, render_template

bp = Blueprint("accounts", __name__)


@bp.get("/account")
def account():
    return render_template("catalogue/index.html")


@bp.get("/sign-in")
def sign_in():
    return render_template("catalogue/index.html")


@bp.post("/sign-out")
def sign_out():
    return render_template("catalogue/index.html")

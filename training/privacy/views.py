"""Privacy pages: the privacy notice, your data (HTML and JSON), and deleting a person's data."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ..accounts.models import User
from ..auth import coordinator_required
from ..db import utcnow
from ..errors import DomainError
from ..extensions import db
from . import services
from .forms import DeletePersonForm

bp = Blueprint("privacy", __name__)

# Used until the partnership sets TRAINING_TEAM_EMAIL; the .example domain reaches nobody.
DEFAULT_TRAINING_TEAM_EMAIL = "training-team@partnership.example"


@bp.app_context_processor
def _privacy_globals() -> dict:
    return {
        "training_team_email": current_app.config.get("TRAINING_TEAM_EMAIL", DEFAULT_TRAINING_TEAM_EMAIL),
        "retention_years": current_app.config["RETENTION_YEARS"],
    }


@bp.get("/privacy")
def notice() -> str:
    """The privacy notice: what we hold, why, for how long, and your rights."""
    return render_template("privacy/notice.html")


@bp.get("/account/my-data")
@login_required
def my_data() -> str:
    """Everything held about the signed-in person, as a page."""
    return render_template("privacy/my_data.html", data=services.my_data(current_user.id),
                           outbox_retention_days=current_app.config["OUTBOX_RETENTION_DAYS"])


@bp.get("/account/my-data.json")
@login_required
def my_data_json() -> Response:
    """Everything held about the signed-in person, as a JSON download."""
    payload = services.my_data_json(services.my_data(current_user.id))
    response = current_app.response_class(
        json.dumps(payload, indent=2, ensure_ascii=False), mimetype="application/json"
    )
    response.headers["Content-Disposition"] = 'attachment; filename="my-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/manage/people/<int:person_id>/delete", methods=["GET", "POST"])
@coordinator_required
def delete_person(person_id: int) -> str | Response:
    """Confirm, then delete a person's personal data (their records stay, anonymised)."""
    person = db.get_or_404(User, person_id)
    actor = current_user._get_current_object()
    form = DeletePersonForm()
    if form.validate_on_submit():
        try:
            services.anonymise_person(person.id, actor, utcnow())
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(f"Personal data deleted. The person's records now show them as "
                  f"{services.anonymised_name(person_id)}.", "success")
        return redirect(url_for("accounts.manage_person", person_id=person_id))
    return render_template("privacy/delete_person.html", person=person, form=form,
                           refusal=services.anonymise_refusal(person, actor))

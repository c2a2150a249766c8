"""Safeguarding-updates bulletins (coordinators) and the one-click unsubscribe (anyone with the link).

The unsubscribe link's GET only shows a page with a button: mail scanners fetch links, and must
not unsubscribe anyone. Its POST unsubscribes. Mail providers that support RFC 8058 POST
`List-Unsubscribe=One-Click` to the same URL with no cookie and no CSRF token, so that one route
is exempt from CSRF: the signed token in the URL is the authorisation.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ..accounts.models import Sector
from ..auth import coordinator_required
from ..db import utcnow
from ..extensions import csrf
from . import bulletins as services
from .bulletin_forms import BulletinForm
from .models import Bulletin

bp = Blueprint("bulletins", __name__)


# ---------------------------------------------------------------------------
# Coordinators: write, preview and send
# ---------------------------------------------------------------------------

def _bulletin_or_404(bulletin_id: int) -> Bulletin:
    return services.get_bulletin(bulletin_id) or abort(404)


def _audience(sector: Sector | None, agency_name: str | None) -> str:
    """Who a bulletin goes to, in words."""
    if sector and agency_name:
        return f"People in {agency_name} ({sector.label}) who agreed to receive updates"
    if agency_name:
        return f"People in {agency_name} who agreed to receive updates"
    if sector:
        return f"People in the {sector.label.lower()} sector who agreed to receive updates"
    return "Everyone who agreed to receive updates"


@bp.app_template_global()
def bulletin_audience(bulletin: Bulletin) -> str:
    """Who a bulletin goes to, for the bulletin pages."""
    return _audience(bulletin.sector, bulletin.agency.name if bulletin.agency else None)


@bp.get("/manage/bulletins")
@coordinator_required
def index() -> ResponseReturnValue:
    """Drafts and sent bulletins, and how many people currently agree to receive updates."""
    return render_template("notifications/bulletins/index.html", bulletins=services.all_bulletins(),
                           consenting=services.consenting_count())


def _form_page(form: BulletinForm, bulletin: Bulletin | None) -> ResponseReturnValue:
    status = 400 if form.errors else 200
    return render_template("notifications/bulletins/form.html", form=form, bulletin=bulletin), status


def _save(form: BulletinForm, bulletin: Bulletin | None) -> ResponseReturnValue | None:
    """Save the draft when the form is valid; None when the page must be shown again."""
    if not form.validate():
        return None
    try:
        if bulletin is None:
            saved = services.create_draft(form.details(), current_user, now=utcnow())
        else:
            saved = services.update_draft(bulletin.id, form.details(), current_user, now=utcnow())
    except services.InvalidBulletin as err:
        for name, message in err.errors.items():
            getattr(form, name).errors = [*getattr(form, name).errors, message]
        return None
    flash("Draft saved. Check it below, then send it", "success")
    return redirect(url_for("bulletins.show", bulletin_id=saved.id))


@bp.route("/manage/bulletins/new", methods=["GET", "POST"])
@coordinator_required
def new() -> ResponseReturnValue:
    """Write a bulletin: saved as a draft to check before sending."""
    form = BulletinForm()
    form.set_choices(services.active_agencies())
    if form.is_submitted():
        done = _save(form, None)
        if done is not None:
            return done
    return _form_page(form, None)


@bp.get("/manage/bulletins/<int:bulletin_id>")
@coordinator_required
def show(bulletin_id: int) -> ResponseReturnValue:
    """A bulletin as it will be (or was) sent, and for a draft how many people it will go to."""
    bulletin = _bulletin_or_404(bulletin_id)
    count = None if bulletin.sent_at else services.recipient_count(bulletin.sector, bulletin.agency_id)
    return render_template("notifications/bulletins/show.html", bulletin=bulletin, count=count,
                           paragraphs=services.paragraphs(bulletin.body))


@bp.route("/manage/bulletins/<int:bulletin_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit(bulletin_id: int) -> ResponseReturnValue:
    """Change a draft; a sent bulletin cannot be changed."""
    bulletin = _bulletin_or_404(bulletin_id)
    if bulletin.sent_at is not None:
        flash(services.BulletinAlreadySent.message)
        return redirect(url_for("bulletins.show", bulletin_id=bulletin.id))
    form = BulletinForm()
    form.set_choices(services.active_agencies())
    if not form.is_submitted():
        form.fill(bulletin.subject, bulletin.body, bulletin.sector, bulletin.agency_id)
    else:
        try:
            done = _save(form, bulletin)
        except services.BulletinNotFound:
            abort(404)
        except services.BulletinAlreadySent as err:
            flash(err.message)
            return redirect(url_for("bulletins.show", bulletin_id=bulletin.id))
        if done is not None:
            return done
    return _form_page(form, bulletin)


@bp.post("/manage/bulletins/<int:bulletin_id>/send")
@coordinator_required
def send(bulletin_id: int) -> ResponseReturnValue:
    """Send a draft to everyone it matches now. A second click sends nothing more."""
    _bulletin_or_404(bulletin_id)
    try:
        count = services.send(bulletin_id, current_user, now=utcnow())
    except services.BulletinNotFound:
        abort(404)
    except services.BulletinError as err:
        flash(err.message)
    else:
        flash(f"Bulletin sent to {count:,} {'person' if count == 1 else 'people'}", "success")
    return redirect(url_for("bulletins.show", bulletin_id=bulletin_id))


# ---------------------------------------------------------------------------
# Anyone with the link: unsubscribe
# ---------------------------------------------------------------------------

def _invalid_link() -> ResponseReturnValue:
    return _private(render_template("notifications/unsubscribe/invalid.html",
                                    team_email=current_app.config["TRAINING_TEAM_EMAIL"]), 404)


def _private(body: str, status: int = 200) -> ResponseReturnValue:
    # The URL is a personal credential: keep the page out of caches and search engines.
    return body, status, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str) -> ResponseReturnValue:
    """GET: a page with an Unsubscribe button. POST (the button, or a mail provider's one-click): unsubscribe."""
    user_id = services.user_id_from_token(token)
    if user_id is None or not services.person_exists(user_id):
        return _invalid_link()
    if request.method == "GET":
        return _private(render_template("notifications/unsubscribe/confirm.html", token=token))
    try:
        services.unsubscribe(user_id, now=utcnow())
    except services.BulletinNotFound:
        return _invalid_link()
    # 200 with the page, not a redirect: RFC 8058 senders expect the POST itself to succeed.
    return _private(render_template("notifications/unsubscribe/done.html"))

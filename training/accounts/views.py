"""Accounts pages: sign in and out, registration, your account, people and agencies."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from ..auth import coordinator_required, safe_next
from ..db import utcnow
from ..errors import DomainError
from ..extensions import db, limiter
from ..pagination import govuk_pagination
from . import services, tokens
from .errors import AgencyNameTaken, AgencyUnavailable, EmailTaken, InvalidLink, SameEmail, WrongPassword
from .forms import (
    AgencyForm,
    ChangeEmailForm,
    ChangePasswordForm,
    ConfirmEmailChangeForm,
    ForgottenPasswordForm,
    PeopleFilterForm,
    PersonRolesForm,
    ProfileForm,
    RegistrationForm,
    ResetPasswordForm,
    SignInForm,
)
from .models import Agency, Role, Sector, User
from .passwords import PasswordTooEasy

bp = Blueprint("accounts", __name__)

DEFAULT_PEOPLE_PAGE_SIZE = 25
MAX_PAGE = 100_000


@bp.app_template_filter("role_labels")
def role_labels(user: User) -> str:
    """A person's roles for display, in the order professional, trainer, coordinator."""
    return ", ".join(role.label for role in Role if role in user.roles) or "None"


def _start_session(user: User) -> None:
    """Sign in on an emptied session, so nothing set before sign-in carries over (fixation)."""
    session.clear()
    login_user(user)
    _mark_password(user)


def _mark_password(user: User) -> None:
    """Note which password this session signed in with: once it changes, other sessions can be
    refused (the check is in training.security.load_user)."""
    session[tokens.SESSION_PASSWORD_MARK] = tokens.password_fingerprint(user)


def _next_or(default: str) -> str:
    return safe_next(request.args.get("next"), default)


def _sign_in_rate_limit() -> str:
    """Per client address, POST only: guessing passwords and mass registration are slowed,
    reading the pages is not. Every attempt counts, so the 429 page says nothing about any account."""
    return current_app.config["SIGN_IN_RATE_LIMIT"]


# ---------------------------------------------------------------------------
# Signing in and out, registering
# ---------------------------------------------------------------------------

@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_sign_in_rate_limit, methods=["POST"])
def sign_in() -> str | Response:
    """Sign in with email address and password."""
    if current_user.is_authenticated:
        return redirect(_next_or(url_for("catalogue.index")))
    form = SignInForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            _start_session(user)
            return redirect(_next_or(url_for("catalogue.index")))
        # One message whatever was wrong, so nobody can find out who has an account.
        form.email.errors.append("Enter a correct email address and password")
    return render_template("accounts/sign_in.html", form=form)


@bp.post("/sign-out")
def sign_out() -> Response:
    """Sign out and forget the session."""
    logout_user()
    session.clear()
    flash("You have signed out", "success")
    return redirect(url_for("catalogue.index"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_sign_in_rate_limit, methods=["POST"])
def register() -> str | Response:
    """Create a professional's account, then sign in with it."""
    if current_user.is_authenticated:
        return redirect(url_for("accounts.account"))
    form = RegistrationForm()
    form.agency.set_agencies(services.active_agencies())
    if form.validate_on_submit():
        try:
            user = services.register(
                name=form.name.data,
                email=form.email.data,
                agency_id=form.agency.agency_id,
                job_title=form.job_title.data,
                manager_name=form.manager_name.data,
                manager_email=form.manager_email.data,
                consent_updates=form.consent_updates.data,
                password=form.password.data,
                now=utcnow(),
            )
        except EmailTaken as exc:
            form.email.errors.append(exc.message)
        except AgencyUnavailable as exc:
            form.agency.errors.append(exc.message)
        except PasswordTooEasy as exc:
            form.password.errors.append(exc.message)
        else:
            _start_session(user)
            flash("Your account has been created", "success")
            return redirect(_next_or(url_for("catalogue.index")))
    return render_template("accounts/register.html", form=form)


# ---------------------------------------------------------------------------
# Forgotten password
# ---------------------------------------------------------------------------

def _invalid_link(again_url: str, again_text: str) -> tuple[str, int]:
    """The one answer for a link that is tampered with, expired or used: it says which is none
    of the visitor's business, and offers a new link."""
    return render_template("accounts/link_invalid.html", again_url=again_url, again_text=again_text), 400


def _invalid_reset_link() -> tuple[str, int]:
    return _invalid_link(url_for("accounts.forgotten_password"), "ask for a new link to reset your password")


@bp.route("/forgotten-password", methods=["GET", "POST"])
@limiter.limit(_sign_in_rate_limit, methods=["POST"])
def forgotten_password() -> str | Response:
    """Ask for a link to reset your password."""
    form = ForgottenPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data, now=utcnow())
        # Known, unknown or deactivated: the same page, so nobody learns who has an account.
        return redirect(url_for("accounts.forgotten_password_sent"))
    return render_template("accounts/forgotten_password.html", form=form)


@bp.get("/forgotten-password/sent")
def forgotten_password_sent() -> str:
    """What happens next, said the same way whatever address was entered."""
    return render_template("accounts/forgotten_password_sent.html",
                           minutes=current_app.config["PASSWORD_RESET_MINUTES"])


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> str | Response | tuple[str, int]:
    """Choose a new password through the emailed link (the GET only shows the form)."""
    now = utcnow()
    try:
        person = services.password_reset_user(token, now=now)
    except InvalidLink:
        return _invalid_reset_link()
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.new_password.data, now=now)
        except InvalidLink:
            return _invalid_reset_link()
        except PasswordTooEasy as exc:
            form.new_password.errors.append(exc.message)
        else:
            # Whoever this browser was signed in as, it now signs in afresh with the new password.
            logout_user()
            session.clear()
            flash("Your password has been changed. Sign in with your new password", "success")
            return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/reset_password.html", form=form, person=person)


# ---------------------------------------------------------------------------
# Your account
# ---------------------------------------------------------------------------

def _render_account(password_form: ChangePasswordForm) -> str:
    user: User = current_user._get_current_object()
    return render_template("accounts/account.html", user=user, form=password_form,
                           consent_history=services.consent_history(user))


@bp.get("/account")
@login_required
def account() -> str:
    """Your details and roles, and a form to change your password."""
    return _render_account(ChangePasswordForm())


@bp.post("/account/password")
@login_required
def change_password() -> str | Response:
    """Change your password after confirming the current one."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user._get_current_object(),
                                     current_password=form.current_password.data,
                                     new_password=form.new_password.data)
        except WrongPassword as exc:
            form.current_password.errors.append(exc.message)
        except PasswordTooEasy as exc:
            form.new_password.errors.append(exc.message)
        else:
            # This session carries on; sessions signed in with the old password do not.
            _mark_password(current_user._get_current_object())
            flash("Your password has been changed", "success")
            return redirect(url_for("accounts.account"))
    return _render_account(form)


@bp.route("/account/edit", methods=["GET", "POST"])
@login_required
def account_edit() -> str | Response:
    """Change your name, agency, job title, line manager and consent to updates."""
    user: User = current_user._get_current_object()
    form = ProfileForm(obj=user) if request.method == "GET" else ProfileForm()
    form.agency.set_agencies(services.agencies_for(user))
    if request.method == "GET":
        form.agency.data = str(user.agency_id)
    if form.validate_on_submit():
        try:
            services.update_profile(
                user,
                name=form.name.data,
                agency_id=form.agency.agency_id,
                job_title=form.job_title.data,
                manager_name=form.manager_name.data,
                manager_email=form.manager_email.data,
                consent_updates=form.consent_updates.data,
                now=utcnow(),
            )
        except AgencyUnavailable as exc:
            form.agency.errors.append(exc.message)
        else:
            flash("Your details have been updated", "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/account_edit.html", form=form)


@bp.route("/account/email", methods=["GET", "POST"])
@login_required
@limiter.limit(_sign_in_rate_limit, methods=["POST"])
def change_email() -> str | Response:
    """Ask to change your email address: a link goes to the new one to confirm it."""
    form = ChangeEmailForm()
    if form.validate_on_submit():
        try:
            services.request_email_change(current_user._get_current_object(), new_email=form.new_email.data,
                                          password=form.password.data, now=utcnow())
        except WrongPassword as exc:
            form.password.errors.append(exc.message)
        except (SameEmail, EmailTaken) as exc:
            form.new_email.errors.append(exc.message)
        else:
            new_email = services.normalise_email(form.new_email.data)
            flash(f"We have sent a link to {new_email}. Your email address will change when you use it.",
                  "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/change_email.html", form=form)


def _invalid_email_link() -> tuple[str, int]:
    return _invalid_link(url_for("accounts.change_email"), "ask for a new link to change your email address")


@bp.route("/account/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email_change(token: str) -> str | Response | tuple[str, int]:
    """Confirm a new email address through the emailed link: the GET shows a button, the POST
    changes it. Signed in or not: the link proves the new address is yours, and your password
    was checked when you asked."""
    now = utcnow()
    try:
        change = services.pending_email_change(token, now=now)
    except InvalidLink:
        return _invalid_email_link()
    form = ConfirmEmailChangeForm()
    if form.validate_on_submit():
        try:
            services.confirm_email_change(token, now=now)
        except InvalidLink:
            return _invalid_email_link()
        except EmailTaken as exc:
            return render_template("accounts/email_change_refused.html", message=exc.message), 409
        flash(f"Your email address has been changed to {change.new_email}", "success")
        if current_user.is_authenticated and current_user.id == change.user.id:
            return redirect(url_for("accounts.account"))
        return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/confirm_email_change.html", form=form, new_email=change.new_email)


# ---------------------------------------------------------------------------
# Coordinators: people
# ---------------------------------------------------------------------------

@bp.get("/manage/people")
@coordinator_required
def manage_people() -> str:
    """Everyone with an account: search by name or email, filter by agency and role."""
    form = PeopleFilterForm(formdata=request.args)
    form.set_agencies(services.all_agencies())
    # Clamped so a silly page number cannot overflow the database's OFFSET.
    page_number = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    per_page = current_app.config.get("PEOPLE_PAGE_SIZE", DEFAULT_PEOPLE_PAGE_SIZE)
    query = services.people_query(form.q.data, form.agency_id, form.role_value)
    page = db.paginate(query, page=page_number, per_page=per_page, error_out=False, count=True)
    filters = {k: v for k, v in {"q": form.q.data, "agency": form.agency_id,
                                  "role": form.role_value and form.role_value.value}.items() if v}
    return render_template(
        "accounts/manage_people.html",
        filter_form=form,
        page=page,
        filtered=bool(filters),
        pagination=govuk_pagination("accounts.manage_people", page.page, page.pages, filters, "Pages of people"),
    )


def _render_person(person: User, roles_form: PersonRolesForm) -> str:
    return render_template("accounts/manage_person.html", person=person, form=roles_form)


@bp.get("/manage/people/<int:person_id>")
@coordinator_required
def manage_person(person_id: int) -> str:
    """One person's details, roles and account status."""
    person = db.get_or_404(User, person_id)
    return _render_person(person, PersonRolesForm(roles=[r.value for r in person.roles]))


@bp.post("/manage/people/<int:person_id>/roles")
@coordinator_required
def person_roles(person_id: int) -> str | Response:
    """Grant and revoke a person's roles."""
    person = db.get_or_404(User, person_id)
    form = PersonRolesForm()
    if form.validate_on_submit():
        try:
            services.set_roles(person, form.selected_roles, actor=current_user._get_current_object())
        except DomainError as exc:
            form.roles.errors.append(exc.message)
        else:
            flash(f"Roles updated for {person.name}", "success")
            return redirect(url_for("accounts.manage_person", person_id=person.id))
    return _render_person(person, form)


def _posted_active() -> bool:
    """The `active` switch posted by a deactivate or reactivate button."""
    value = request.form.get("active")
    if value not in {"true", "false"}:
        abort(400)
    return value == "true"


@bp.post("/manage/people/<int:person_id>/status")
@coordinator_required
def person_status(person_id: int) -> Response:
    """Deactivate or reactivate a person's account."""
    person = db.get_or_404(User, person_id)
    active = _posted_active()
    try:
        services.set_active(person, active, actor=current_user._get_current_object())
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(f"{person.name}'s account has been {'reactivated' if active else 'deactivated'}", "success")
    return redirect(url_for("accounts.manage_person", person_id=person.id))


# ---------------------------------------------------------------------------
# Coordinators: agencies
# ---------------------------------------------------------------------------

@bp.get("/manage/agencies")
@coordinator_required
def manage_agencies() -> str:
    """Every agency with its sector, status and number of people."""
    return render_template("accounts/manage_agencies.html", summaries=services.agency_summaries())


@bp.route("/manage/agencies/new", methods=["GET", "POST"])
@coordinator_required
def agency_new() -> str | Response:
    """Add an agency."""
    form = AgencyForm()
    if form.validate_on_submit():
        try:
            agency = services.create_agency(name=form.name.data, sector=Sector(form.sector.data))
        except AgencyNameTaken as exc:
            form.name.errors.append(exc.message)
        else:
            flash(f"{agency.name} has been added", "success")
            return redirect(url_for("accounts.manage_agencies"))
    return render_template("accounts/agency_form.html", form=form, agency=None)


@bp.route("/manage/agencies/<int:agency_id>/edit", methods=["GET", "POST"])
@coordinator_required
def agency_edit(agency_id: int) -> str | Response:
    """Rename an agency, change its sector, or deactivate or reactivate it."""
    agency = db.get_or_404(Agency, agency_id)
    form = AgencyForm(obj=agency) if request.method == "GET" else AgencyForm()
    if request.method == "GET":
        form.sector.data = agency.sector.value
    if form.validate_on_submit():
        try:
            services.update_agency(agency, name=form.name.data, sector=Sector(form.sector.data))
        except AgencyNameTaken as exc:
            form.name.errors.append(exc.message)
        else:
            flash(f"{agency.name} has been updated", "success")
            return redirect(url_for("accounts.manage_agencies"))
    return render_template("accounts/agency_form.html", form=form, agency=agency)


@bp.post("/manage/agencies/<int:agency_id>/status")
@coordinator_required
def agency_status(agency_id: int) -> Response:
    """Deactivate an agency (it leaves the registration list) or reactivate it."""
    agency = db.get_or_404(Agency, agency_id)
    active = _posted_active()
    services.set_agency_active(agency, active)
    flash(f"{agency.name} has been {'reactivated' if active else 'deactivated'}", "success")
    return redirect(url_for("accounts.manage_agencies"))

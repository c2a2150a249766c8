"""Catalogue pages: the public catalogue and course pages, and the coordinators' catalogue management."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, get_template_attribute, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from .. import cache
from ..auth import coordinator_required
from ..db import MAX_ID, utcnow
from ..errors import DomainError
from ..pagination import govuk_pagination
from ..timeutil import format_datetime
from . import services
from .errors import InvalidDetails, SessionAlreadyCancelled, SessionNotEditable
from .forms import CancelSessionForm, CatalogueFilterForm, CourseForm, SessionForm

bp = Blueprint("catalogue", __name__)


def _page_number() -> int:
    """The ?page= asked for; anything unreadable is the first page (the service clamps the rest)."""
    return request.args.get("page", default=1, type=int)


def _per_page() -> int:
    return current_app.config["CATALOGUE_PAGE_SIZE"]


_FILTER_CACHE_SIZE = 256


def _filter_fields(form: CatalogueFilterForm) -> Markup:
    """The filter fields' HTML, rendered once for each combination of values asked for.

    The GOV.UK checkbox macros cost more than the rest of the catalogue page together, and
    their output depends only on the form's values and the month choices (never on the
    database), so every worker can keep its own copy without ever showing anything stale.
    """
    key = (request.script_root, tuple((c.value, c.label) for c in form.month.choices),
           *((field.name, _frozen(field.data), tuple(field.raw_data or ())) for field in form))
    cache: dict = current_app.extensions.setdefault("catalogue_filter_fields", {})
    html = cache.get(key)
    if html is None:
        if len(cache) >= _FILTER_CACHE_SIZE:  # odd query strings must not grow it without limit
            cache.clear()
        # The macro returns Markup: Jinja has already escaped everything in it.
        html = cache[key] = get_template_attribute("catalogue/_macros.html", "filter_fields")(form)
    return html


def _frozen(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


# ---------------------------------------------------------------------------
# Public pages
# ---------------------------------------------------------------------------

@bp.get("/")
def index() -> str:
    """The public catalogue of upcoming sessions, filtered and paginated."""
    now = utcnow()
    months = services.month_starts(now)
    # Most visits ask for no filters, and reading the form would cost a fair share of a page
    # served from the cache.
    filters = CatalogueFilterForm(request.args, months).filters() if request.args else services.CatalogueFilters()
    filter_args = CatalogueFilterForm.query_args(filters)
    number, per_page = _page_number(), _per_page()

    def render() -> str:
        # The form is shown as the filters read it (a value not on offer is left out), so the
        # page is the same for every address that asks for the same filters.
        filter_form = CatalogueFilterForm(MultiDict(filter_args), months)
        page = services.search_sessions(filters, page=number, per_page=per_page, now=now)
        title = "Find a course" + (f" (page {page.number} of {page.pages})" if page.number > 1 else "")
        results = Markup(render_template(  # noqa: S704  # nosec B704  # Jinja has escaped it
            "catalogue/_results.html",
            filtered=bool(filter_args),
            page=page,
            pagination=govuk_pagination("catalogue.index", page.number, page.pages, filter_args),
            now=now,
        ))
        return render_template("catalogue/index.html", filter_fields=_filter_fields(filter_form),
                               filtered=bool(filter_args), title=title, results=results)

    return cache.page(cache.CATALOGUE, ("index", sorted(filter_args.items()), number, per_page), render)


@bp.get("/courses/<int:course_id>")
def course(course_id: int) -> str:
    """A course's details, learning outcomes and upcoming sessions."""
    now = utcnow()
    staff = bool(current_user.is_authenticated and current_user.is_coordinator)

    def render() -> str:
        found = services.get_course(course_id)
        # Nothing is stored for a course that does not exist or that this viewer may not see.
        if found is None or not services.visible_in_catalogue(found.active, current_user if staff else None):
            abort(404)
        sessions = services.course_upcoming_sessions(course_id, now)
        return render_template("catalogue/course.html", title=found.title, course=found, sessions=sessions,
                               now=now)

    return cache.page(cache.CATALOGUE, ("course", course_id, staff), render)


# ---------------------------------------------------------------------------
# Coordinators: home and courses
# ---------------------------------------------------------------------------

@bp.get("/manage/")
@coordinator_required
def manage_index() -> str:
    """The coordinators' home: where to go, and how full the upcoming sessions are."""
    now = utcnow()
    page = services.upcoming_sessions(page=_page_number(), per_page=_per_page(), now=now)
    return render_template(
        "catalogue/manage_index.html",
        page=page,
        pagination=govuk_pagination("catalogue.manage_index", page.number, page.pages),
        now=now,
    )


@bp.get("/manage/courses")
@coordinator_required
def manage_courses() -> str:
    """Every course, with its number of upcoming sessions."""
    return render_template("catalogue/manage_courses.html", courses=services.courses_with_upcoming_counts(utcnow()))


@bp.route("/manage/courses/new", methods=["GET", "POST"])
@coordinator_required
def course_new() -> str | Response:
    """Add a course."""
    form = CourseForm()
    if form.validate_on_submit():
        try:
            created = services.create_course(current_user, form.details(), now=utcnow())
        except InvalidDetails as err:
            form.add_errors(err.errors)
        else:
            flash(f"Course added: {created.title}", "success")
            return redirect(url_for("catalogue.manage_course", course_id=created.id))
    return render_template("catalogue/course_form.html", form=form, course=None)


@bp.route("/manage/courses/<int:course_id>/edit", methods=["GET", "POST"])
@coordinator_required
def course_edit(course_id: int) -> str | Response:
    """Change a course's details."""
    found = services.get_course(course_id) or abort(404)
    form = CourseForm()
    if request.method == "GET":
        form.fill_from(found)
    elif form.validate_on_submit():
        try:
            services.update_course(course_id, current_user, form.details(), now=utcnow())
        except InvalidDetails as err:
            form.add_errors(err.errors)
        else:
            flash("Course details saved", "success")
            return redirect(url_for("catalogue.manage_course", course_id=course_id))
    return render_template("catalogue/course_form.html", form=form, course=found)


@bp.post("/manage/courses/<int:course_id>/duplicate")
@coordinator_required
def course_duplicate(course_id: int) -> Response:
    """Copy a course and open the copy for editing."""
    services.get_course(course_id) or abort(404)
    try:
        copy = services.duplicate_course(course_id, current_user, now=utcnow())
    except DomainError as err:  # another coordinator took the copy's title at the same moment
        flash(err.message)
        return redirect(url_for("catalogue.manage_course", course_id=course_id))
    flash("Course copied. Change the title and anything else that is different, then save", "success")
    return redirect(url_for("catalogue.course_edit", course_id=copy.id))


@bp.get("/manage/courses/<int:course_id>")
@coordinator_required
def manage_course(course_id: int) -> str:
    """A course and all its sessions, upcoming and past."""
    now = utcnow()
    found = services.get_course(course_id) or abort(404)
    return render_template(
        "catalogue/manage_course.html",
        course=found,
        sessions=services.course_sessions(course_id, now),
        now=now,
    )


# ---------------------------------------------------------------------------
# Coordinators: sessions
# ---------------------------------------------------------------------------

@bp.route("/manage/courses/<int:course_id>/sessions/new", methods=["GET", "POST"])
@coordinator_required
def session_new(course_id: int) -> str | Response:
    """Schedule a session of a course (?copy=<session id> pre-fills it from another)."""
    found = services.get_course(course_id) or abort(404)
    form = SessionForm()
    copied_from = None
    draft_trainers: tuple[int, ...] = ()
    copy_id = request.args.get("copy", type=int)
    if copy_id is not None and not 1 <= copy_id <= MAX_ID:
        abort(404)  # not an id any session can have
    if request.method == "GET" and copy_id is not None:
        copied_from = services.get_session(copy_id)
        if copied_from is None or copied_from.course_id != course_id:
            abort(404)
        draft = services.duplicate_session(copy_id, current_user, now=utcnow())
        draft_trainers = draft.trainer_ids
        form.fill_from_draft(draft)
    if request.method == "GET":
        form.preselect_kind(found)
    form.set_trainer_choices(services.trainers(include=draft_trainers))
    if form.validate_on_submit():
        try:
            created = services.create_session(course_id, current_user, form.details(), now=utcnow())
        except InvalidDetails as err:
            form.add_errors(err.errors)
        else:
            flash(f"Session added: {format_datetime(created.starts_at)}", "success")
            return redirect(url_for("catalogue.manage_course", course_id=course_id))
    return render_template("catalogue/session_form.html", form=form, course=found, session=None,
                           copied_from=copied_from)


@bp.route("/manage/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@coordinator_required
def session_edit(session_id: int) -> str | Response:
    """Change a scheduled session that has not started."""
    found = services.get_session(session_id) or abort(404)
    try:
        services.check_editable(found, utcnow())
    except SessionNotEditable as err:
        flash(err.message)
        return redirect(url_for("catalogue.manage_course", course_id=found.course_id))
    form = SessionForm()
    form.set_trainer_choices(services.trainers(include=[t.id for t in found.trainers]))
    if request.method == "GET":
        form.fill_from(found)
    elif form.validate_on_submit():
        try:
            services.update_session(session_id, current_user, form.details(), now=utcnow())
        except InvalidDetails as err:
            form.add_errors(err.errors)
        except DomainError as err:
            flash(err.message)
            return redirect(url_for("catalogue.manage_course", course_id=found.course_id))
        else:
            flash("Session details saved", "success")
            return redirect(url_for("catalogue.manage_course", course_id=found.course_id))
    return render_template("catalogue/session_form.html", form=form, course=found.course, session=found,
                           copied_from=None)


@bp.post("/manage/sessions/<int:session_id>/duplicate")
@coordinator_required
def session_duplicate(session_id: int) -> Response:
    """Open a new session of the same course pre-filled from this one, for a new date."""
    found = services.get_session(session_id) or abort(404)
    return redirect(url_for("catalogue.session_new", course_id=found.course_id, copy=found.id))


@bp.route("/manage/sessions/<int:session_id>/cancel", methods=["GET", "POST"])
@coordinator_required
def session_cancel(session_id: int) -> str | Response:
    """Confirm, with a reason, and cancel a session; its bookings are released."""
    now = utcnow()
    found = services.get_session(session_id) or abort(404)
    back = url_for("catalogue.manage_course", course_id=found.course_id)
    if found.is_cancelled:
        flash(SessionAlreadyCancelled.message)
        return redirect(back)
    if found.has_started(now):
        flash("You cannot cancel a session that has already started")
        return redirect(back)
    form = CancelSessionForm()
    if form.validate_on_submit():
        try:
            services.cancel_session(session_id, current_user, form.reason.data, now=now)
        except InvalidDetails as err:
            form.add_errors(err.errors)
        except DomainError as err:
            flash(err.message)
            return redirect(back)
        else:
            flash("Session cancelled. Everyone booked or waiting has had their place released", "success")
            return redirect(back)
    return render_template("catalogue/session_cancel.html", form=form, session=found, now=now)

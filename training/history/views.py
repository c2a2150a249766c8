"""Coordinators upload a history file, see a preview, then confirm the import.

A file with problems is refused on the upload page with every problem listed (status 400) and
nothing kept. A good file is kept, unimported, for its preview page; importing reads the kept
file again, so what is imported is exactly what was previewed.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ..auth import coordinator_required
from ..db import utcnow
from . import (
    models,  # noqa: F401  (the history_imports table is registered with the app)
    services,
)
from .errors import ImportConflict, ImportNotFound, ImportNotPending, InvalidHistoryFile
from .forms import UploadForm
from .models import ImportStatus
from .parser import COLUMNS, OPTIONAL_COLUMNS

bp = Blueprint("history", __name__, url_prefix="/manage/history-import")

#: Problems listed on the page; a file with more says how many were not shown.
PROBLEMS_SHOWN = 100


def _upload_page(form: UploadForm, problems=None, filename: str | None = None, status: int = 200) -> ResponseReturnValue:
    problems = problems or []
    return render_template(
        "history/upload.html", form=form, problems=problems[:PROBLEMS_SHOWN],
        more_problems=max(0, len(problems) - PROBLEMS_SHOWN), filename=filename,
        imports=services.recent_imports(), columns=COLUMNS, optional=OPTIONAL_COLUMNS,
    ), status


@bp.route("/", methods=["GET", "POST"])
@coordinator_required
def upload() -> ResponseReturnValue:
    """Upload a CSV file of past attendance records; past uploads are listed below."""
    form = UploadForm()
    if not form.is_submitted():
        return _upload_page(form)
    if not form.validate():
        return _upload_page(form, status=400)
    upload_file = form.file.data
    try:
        history_import = services.upload(upload_file.read(), upload_file.filename or "", current_user, utcnow())
    except InvalidHistoryFile as exc:
        form.file.errors.append(exc.message)
        # A single problem with the whole file is the error message itself; rows get a table.
        problems = [] if len(exc.problems) == 1 and exc.problems[0].line is None else exc.problems
        return _upload_page(form, problems, upload_file.filename, status=400)
    return redirect(url_for(".preview", import_id=history_import.id))


@bp.get("/<int:import_id>")
@coordinator_required
def preview(import_id: int) -> ResponseReturnValue:
    """What importing the file would create (waiting), or what it did (imported)."""
    try:
        result = services.preview(import_id, utcnow())
    except ImportNotFound:
        abort(404)
    history_import = result.history_import
    if history_import.status == ImportStatus.IMPORTED:
        counts = services.Counts.from_json(history_import.counts_json)
        return render_template("history/imported.html", history_import=history_import, counts=counts,
                               period=counts.period)
    if history_import.status == ImportStatus.DISCARDED:
        return render_template("history/discarded.html", history_import=history_import)
    return render_template(
        "history/preview.html", history_import=history_import, plan=result.plan,
        problems=result.problems[:PROBLEMS_SHOWN], more_problems=max(0, len(result.problems) - PROBLEMS_SHOWN),
    )


@bp.post("/<int:import_id>/import")
@coordinator_required
def confirm(import_id: int) -> ResponseReturnValue:
    """Import the previewed file, all or nothing."""
    try:
        services.confirm(import_id, current_user, utcnow())
    except ImportNotFound:
        abort(404)
    except (ImportNotPending, ImportConflict, InvalidHistoryFile) as exc:
        flash(exc.message)
    # The import's page is now its confirmation (a panel), or shows why it was refused.
    return redirect(url_for(".preview", import_id=import_id))


@bp.post("/<int:import_id>/discard")
@coordinator_required
def discard(import_id: int) -> ResponseReturnValue:
    """Throw the previewed file away without importing anything."""
    try:
        services.discard(import_id, current_user, utcnow())
    except ImportNotFound:
        abort(404)
    except ImportNotPending as exc:
        flash(exc.message)
        return redirect(url_for(".preview", import_id=import_id))
    flash("File discarded: nothing was imported", "success")
    return redirect(url_for(".upload"))

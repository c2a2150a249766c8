"""The access control matrix: who may use each route. THE SINGLE SOURCE OF TRUTH.

Review this file whenever a route is added, removed or changes who may use it: the test
`tests/test_access_matrix.py` fails when a route in the app is missing here, when this table
names an endpoint that no longer exists, and when the live app answers a role differently.

`ACCESS_MATRIX` maps every endpoint (as in `url_for`, e.g. "booking.my_training") to what each
role gets for one request:

- the request is a plain GET when the route accepts GET, else a POST with an empty form (its
  main method);
- the URL's ids name objects that EXIST, in a small world where the professional OWNS the
  booking (with its attendance, evaluation and certificate), the trainer TRAINS the session
  (a past one, with its register open) and the review is of that session, so what is tested is
  the role, not a missing object (editing and cancelling a session use an upcoming one, as
  only those can be edited or cancelled);
- "anonymous" is signed out; "professional", "trainer", "coordinator", "agency_lead" and
  "scrutineer" are the roles in `training.accounts.models.Role` (in the test world everyone
  signed in also holds the professional role, as every real trainer, coordinator, agency
  training lead and scrutineer does; the agency lead leads the professional's agency).

Each value is one of:

- ``allowed(status)``: served, with exactly that status (200, or a 3xx that is the page's
  normal behaviour, e.g. a refused action flashing a message and redirecting, or 400 for an
  empty form that the page re-shows with its errors);
- ``SIGN_IN``: a redirect to the sign-in page (anonymous only);
- ``FORBIDDEN``: 403;
- ``NOT_FOUND``: 404 used deliberately, so that ids of other people's objects cannot be probed.

`OBJECT_LEVEL` covers the object-level (IDOR) rule for routes whose URL names a PERSONAL
object (a booking and its evaluation and certificate, a register's attendances and walk-ins, a
person, a comment, a quality review): for a SECOND person of the same role (another
professional; another trainer who does not train that session or course) it records what they
get. It is never `allowed`: they must not see or change the object.

Static files (`/static/<path>`, endpoint ``static``) are served by Flask itself and are
excluded explicitly in `EXCLUDED_ENDPOINTS`.
"""
from __future__ import annotations

ROLES = ("anonymous", "professional", "trainer", "coordinator", "agency_lead", "scrutineer")

SIGN_IN = "sign-in"
FORBIDDEN = "forbidden"
NOT_FOUND = "not-found"

#: Endpoints deliberately outside the matrix.
EXCLUDED_ENDPOINTS = frozenset({"static"})


def allowed(status: int = 200) -> str:
    """Served to this role with exactly `status`."""
    return f"allowed {status}"


def _public(status: int = 200) -> dict[str, str]:
    return {role: allowed(status) for role in ROLES}


def _signed_in(status: int = 200) -> dict[str, str]:
    return {"anonymous": SIGN_IN, "professional": allowed(status), "trainer": allowed(status),
            "coordinator": allowed(status), "agency_lead": allowed(status), "scrutineer": allowed(status)}


def _staff(status: int = 200, coordinator: int | None = None) -> dict[str, str]:
    """Trainers (of this session/course) and coordinators."""
    return {"anonymous": SIGN_IN, "professional": FORBIDDEN, "trainer": allowed(status),
            "coordinator": allowed(status if coordinator is None else coordinator),
            "agency_lead": FORBIDDEN, "scrutineer": FORBIDDEN}


def _coordinator(status: int = 200) -> dict[str, str]:
    return {"anonymous": SIGN_IN, "professional": FORBIDDEN, "trainer": FORBIDDEN,
            "coordinator": allowed(status), "agency_lead": FORBIDDEN, "scrutineer": FORBIDDEN}


def _own_booking(status: int = 200, coordinator: str | None = None) -> dict[str, str]:
    """The booking's owner and (acting for them) coordinators; anyone else: 404."""
    return {"anonymous": SIGN_IN, "professional": allowed(status), "trainer": NOT_FOUND,
            "coordinator": coordinator or allowed(status), "agency_lead": NOT_FOUND, "scrutineer": NOT_FOUND}


def _own_suggestion() -> dict[str, str]:
    """The suggester only; anyone else (coordinators too: they use the manage pages): 404."""
    return {"anonymous": SIGN_IN, "professional": allowed(200), "trainer": NOT_FOUND,
            "coordinator": NOT_FOUND, "agency_lead": NOT_FOUND, "scrutineer": NOT_FOUND}


def _returns(status: int = 200, *, lead: str | None = None, scrutineer: str | None = None,
             coordinator: str | None = None) -> dict[str, str]:
    """Agency training leads, the Independent Scrutineer and coordinators; professionals and trainers 403."""
    return {"anonymous": SIGN_IN, "professional": FORBIDDEN, "trainer": FORBIDDEN,
            "coordinator": coordinator or allowed(status), "agency_lead": lead or allowed(status),
            "scrutineer": scrutineer or allowed(status)}


def _signed_out_only() -> dict[str, str]:
    """Signing in and registering: signed-in people are sent on (302)."""
    return {"anonymous": allowed(200), "professional": allowed(302), "trainer": allowed(302),
            "coordinator": allowed(302), "agency_lead": allowed(302), "scrutineer": allowed(302)}


ACCESS_MATRIX: dict[str, dict[str, str]] = {
    # --- accounts -----------------------------------------------------------------------
    "accounts.sign_in": _signed_out_only(),
    "accounts.register": _signed_out_only(),
    "accounts.sign_out": _public(302),                      # POST; signed out or not, back to /
    "accounts.account": _signed_in(),
    "accounts.account_edit": _signed_in(),
    "accounts.change_password": _signed_in(200),            # POST empty: form re-shown with errors
    "accounts.forgotten_password": _public(),                # GET form; POST is rate limited, same answer for any address
    "accounts.forgotten_password_sent": _public(),           # "Check your email", the same for every address
    "accounts.reset_password": _public(),                    # valid reset token: the form (tampered/expired/used: 400)
    "accounts.change_email": _signed_in(),                   # your own address only; no id in the URL
    "accounts.confirm_email_change": _public(),              # valid token: the confirm button; the token names the person
    "accounts.manage_people": _coordinator(),
    "accounts.manage_person": _coordinator(),
    "accounts.person_roles": _coordinator(302),             # POST: sets the roles ticked, back to the person
    "accounts.person_status": _coordinator(400),            # POST without active=true/false
    "accounts.manage_agencies": _coordinator(),
    "accounts.agency_new": _coordinator(),
    "accounts.agency_edit": _coordinator(),
    "accounts.agency_status": _coordinator(400),            # POST without active=true/false
    # --- catalogue ----------------------------------------------------------------------
    "catalogue.index": _public(),
    "catalogue.course": _public(),
    "catalogue.manage_index": _coordinator(),
    "catalogue.manage_courses": _coordinator(),
    "catalogue.manage_course": _coordinator(),
    "catalogue.course_new": _coordinator(),
    "catalogue.course_edit": _coordinator(),
    "catalogue.course_duplicate": _coordinator(302),        # POST: copies the course
    "catalogue.session_new": _coordinator(),
    "catalogue.session_edit": _coordinator(),               # an upcoming session (a past one: 302)
    "catalogue.session_duplicate": _coordinator(302),       # POST: to the new-session form, pre-filled
    "catalogue.session_cancel": _coordinator(),             # an upcoming session (a past one: 302)
    # --- booking ------------------------------------------------------------------------
    "booking.session_detail": _public(),
    "booking.book": _signed_in(302),                        # POST; the past session refuses, flashes
    "booking.my_training": _signed_in(),
    "booking.past_courses": _signed_in(),
    "booking.booking_detail": _own_booking(),
    "booking.cancel": _own_booking(),
    "booking.accept_offer": _own_booking(302),              # POST; not an offer: flash, redirect
    "booking.decline_offer": _own_booking(302),             # POST; not an offer: flash, redirect
    "booking.transfer": _own_booking(),
    "booking.manage_session_bookings": _coordinator(),
    "booking.book_on_behalf": _coordinator(200),            # POST empty: page re-shown with errors
    "booking.move": _coordinator(),
    # --- attendance (registers) ---------------------------------------------------------
    "attendance.my_sessions": _staff(),
    "attendance.register": _staff(),
    "attendance.complete_register": _staff(302),            # POST: completes the register
    "attendance.add_walk_in": _staff(),
    "attendance.remove_walk_in": _staff(302),               # POST: removes the walk-in
    "attendance.sign_in_sheet": _staff(),
    # --- evaluation forms ---------------------------------------------------------------
    # Only the person booked opens their forms: a coordinator too gets 404 (see evaluation/views.py).
    "evaluation.form": _own_booking(coordinator=NOT_FOUND),
    "evaluation.non_respondents": _coordinator(),
    "evaluation.outstanding": _signed_in(),                 # your own forms only; no id in the URL
    # --- evaluation results and quality reviews -----------------------------------------
    "evaluation_results.index": _staff(),
    "evaluation_results.session_results": _staff(),
    "evaluation_results.course_results": _staff(),
    "evaluation_results.quotable": _coordinator(302),       # POST: unmarks, back to results
    "evaluation_results.review_queue": _coordinator(),
    "evaluation_results.raise_review": _coordinator(),
    "evaluation_results.review": _staff(),
    "evaluation_results.review_findings": _coordinator(302),  # POST empty: refused with a flash, redirect
    "evaluation_results.review_status": _coordinator(302),  # POST without a status: flash, redirect
    # Only the reviewed session's trainer responds; a coordinator may read but not respond.
    "evaluation_results.review_response": {"anonymous": SIGN_IN, "professional": FORBIDDEN,
                                           "trainer": allowed(400), "coordinator": FORBIDDEN,
                                           "agency_lead": FORBIDDEN, "scrutineer": FORBIDDEN},
    # --- certificates -------------------------------------------------------------------
    "certificates.download": _own_booking(),               # reads only: a due certificate gets a button
    "certificates.issue": _own_booking(302),                # POST: issues it (once), back to its page
    "certificates.download_pdf": _own_booking(),
    "certificates.session_bulk": _staff(),                  # POST: issues and audits, the PDF attachment
    "certificates.sign_in_sheet_pdf": _staff(),             # POST: audited, the PDF attachment
    "certificates.verify": _public(),                       # anyone checks a code
    # --- health -------------------------------------------------------------------------
    "health.healthz": _public(),                            # load balancers; always anonymous
    # --- audit --------------------------------------------------------------------------
    "audit.index": _coordinator(),                          # bad filters: page re-shown with errors, 400
    # --- privacy ------------------------------------------------------------------------
    "privacy.notice": _public(),                            # the privacy notice
    "privacy.my_data": _signed_in(),                        # your own data only; no id in the URL
    "privacy.my_data_json": _signed_in(),                   # the same as a JSON attachment
    "privacy.delete_person": _coordinator(),                # GET: confirmation page (POST anonymises, 302)
    # --- reports ------------------------------------------------------------------------
    "reports.summary": _coordinator(),
    "reports.summary_pdf": _coordinator(),
    "reports.summary_csv": _coordinator(),                 # ?table=headline-figures (an unknown table: 404)
    "reports.summary_xlsx": _coordinator(),
    # --- training needs analysis ---------------------------------------------------------
    "needs.groups": _coordinator(),
    "needs.group_new": _coordinator(),
    "needs.group": _coordinator(),
    "needs.group_edit": _coordinator(),
    "needs.requirement_new": _coordinator(),
    "needs.requirement_edit": _coordinator(),
    "needs.requirement_remove": _coordinator(),             # GET: confirmation page
    "needs.analysis": _coordinator(),
    "needs.people": _coordinator(),
    "needs.reviews": _coordinator(),
    "needs.review_new": _coordinator(),
    "needs.review": _coordinator(),
    "needs.my_group": _signed_in(),                         # your own group only; no id in the URL
    "needs.my_requirements": _signed_in(),
    # --- history import -----------------------------------------------------------------
    "history.upload": _coordinator(),                       # POST without a file: form re-shown (400)
    "history.preview": _coordinator(),
    "history.confirm": _coordinator(302),                   # POST: imports the previewed file, back to its page
    "history.discard": _coordinator(302),                   # POST: back to the upload page
    # --- compliance returns (the world's return is the lead's agency's, submitted) -------
    "compliance.index": _returns(),
    "compliance.open_round": _returns(lead=FORBIDDEN, scrutineer=FORBIDDEN),
    "compliance.round_overview": _returns(lead=FORBIDDEN),
    "compliance.add_agencies": _returns(lead=FORBIDDEN, scrutineer=FORBIDDEN),
    "compliance.export_csv": _returns(lead=FORBIDDEN),
    "compliance.export_xlsx": _returns(lead=FORBIDDEN),
    "compliance.return_page": _returns(),
    "compliance.confirm_submit": _returns(302, scrutineer=FORBIDDEN, coordinator=FORBIDDEN),  # submitted: flash, back
    "compliance.challenge": _returns(400, lead=FORBIDDEN, coordinator=FORBIDDEN),   # POST empty: errors shown
    "compliance.respond": _returns(302, scrutineer=FORBIDDEN, coordinator=FORBIDDEN),  # not challenged: flash
    "compliance.accept": _returns(302, lead=FORBIDDEN, coordinator=FORBIDDEN),      # accepts the submitted return
    "compliance.reopen": _returns(400, lead=FORBIDDEN, scrutineer=FORBIDDEN),       # POST empty: reason required
    "report_exports.index": _coordinator(),                # bad dates or agency: form re-shown with errors, 400
    "report_exports.download": _coordinator(),             # POST: audited, a CSV or Excel file (GET: 405)
    # --- course suggestions -------------------------------------------------------------
    "suggestions.index": _signed_in(),
    "suggestions.new": _signed_in(),
    "suggestions.detail": _own_suggestion(),
    "suggestions.manage": _coordinator(),
    "suggestions.manage_suggestion": _coordinator(),
    "suggestions.start_review": _coordinator(302),      # POST: the world's suggestion is submitted -> under review
    "suggestions.decide": _coordinator(400),            # POST empty: page re-shown with errors
    "suggestions.create_course": _coordinator(302),     # POST: not agreed yet, refused with a flash
    # --- safeguarding-updates bulletins -------------------------------------------------
    "bulletins.index": _coordinator(),
    "bulletins.new": _coordinator(),
    "bulletins.show": _coordinator(),
    "bulletins.edit": _coordinator(),                       # the world's bulletin is a draft (a sent one: 302)
    "bulletins.send": _coordinator(302),                    # POST: sends, or nobody matches: flash, back to it
    # Anyone holding the signed link: GET shows the button page (changes nothing); POST (the button,
    # or a mail provider's RFC 8058 one-click POST, CSRF-exempt) unsubscribes the person the token
    # names, whoever is signed in. A bad token: 404.
    "bulletins.unsubscribe": _public(),
    # --- manager approval (signed link, no account: every role gets the same answer) -----
    "approvals.decide": _public(),                          # GET shows the request; changes nothing
    "approvals.approve": _public(302),                      # POST: approves (or says already decided), back to the link
    "approvals.decline": _public(302),                      # POST (reason optional): declines, back to the link
    # --- notifications (outbox) -----------------------------------------------------------
    "notifications.index": _coordinator(),                  # a bad ?status=: list re-shown with the error, 400
    "notifications.message": _coordinator(),
    "notifications.retry": _coordinator(302),               # POST; not failed: flash, back to the message
    # --- calendar feed ------------------------------------------------------------------
    "calendar.settings": _signed_in(),                      # your own feed only; no id in the URL
    "calendar.turn_on": _signed_in(302),                    # POST; back to the settings page
    "calendar.reset": _signed_in(302),                      # POST; back to the settings page (flash if off)
    "calendar.turn_off": _signed_in(302),                   # POST; back to the settings page
    "calendar.feed": _public(),                             # the secret token is the credential: 200 for every role
}


def _others(professional: str, trainer: str) -> dict[str, str]:
    return {"professional": professional, "trainer": trainer}


#: Object-level checks: what ANOTHER person of the role (not the owner; a trainer who does not
#: train the session or course; the lead of another agency) gets for a URL naming someone's
#: personal object.
OBJECT_LEVEL: dict[str, dict[str, str]] = {
    # A booking and what hangs off it: 404, so ids cannot be probed.
    "booking.booking_detail": _others(NOT_FOUND, NOT_FOUND),
    "booking.cancel": _others(NOT_FOUND, NOT_FOUND),
    "booking.accept_offer": _others(NOT_FOUND, NOT_FOUND),
    "booking.decline_offer": _others(NOT_FOUND, NOT_FOUND),
    "booking.transfer": _others(NOT_FOUND, NOT_FOUND),
    "booking.move": _others(FORBIDDEN, FORBIDDEN),
    "evaluation.form": _others(NOT_FOUND, NOT_FOUND),
    "certificates.download": _others(NOT_FOUND, NOT_FOUND),
    "certificates.issue": _others(NOT_FOUND, NOT_FOUND),
    "certificates.download_pdf": _others(NOT_FOUND, NOT_FOUND),
    # A register, its attendances and walk-ins: 403 for a trainer not on the session.
    "attendance.register": _others(FORBIDDEN, FORBIDDEN),
    "attendance.complete_register": _others(FORBIDDEN, FORBIDDEN),
    "attendance.add_walk_in": _others(FORBIDDEN, FORBIDDEN),
    "attendance.remove_walk_in": _others(FORBIDDEN, FORBIDDEN),
    "attendance.sign_in_sheet": _others(FORBIDDEN, FORBIDDEN),
    "certificates.session_bulk": _others(FORBIDDEN, FORBIDDEN),
    "certificates.sign_in_sheet_pdf": _others(FORBIDDEN, FORBIDDEN),
    "evaluation.non_respondents": _others(FORBIDDEN, FORBIDDEN),
    "evaluation_results.session_results": _others(FORBIDDEN, FORBIDDEN),
    "evaluation_results.course_results": _others(FORBIDDEN, FORBIDDEN),
    "evaluation_results.quotable": _others(FORBIDDEN, FORBIDDEN),
    # A person.
    "accounts.manage_person": _others(FORBIDDEN, FORBIDDEN),
    "accounts.person_roles": _others(FORBIDDEN, FORBIDDEN),
    "accounts.person_status": _others(FORBIDDEN, FORBIDDEN),
    # A quality review: not public, so 404 for a trainer it is not about.
    "evaluation_results.review": _others(FORBIDDEN, NOT_FOUND),
    "evaluation_results.review_response": _others(FORBIDDEN, NOT_FOUND),
    "evaluation_results.review_findings": _others(FORBIDDEN, FORBIDDEN),
    "evaluation_results.review_status": _others(FORBIDDEN, FORBIDDEN),
    "privacy.delete_person": _others(FORBIDDEN, FORBIDDEN),
    # A return: another agency's lead gets 404 (ids cannot be probed) or 403 for scrutineer actions.
    "compliance.return_page": {**_others(FORBIDDEN, FORBIDDEN), "agency_lead": NOT_FOUND},
    "compliance.confirm_submit": {**_others(FORBIDDEN, FORBIDDEN), "agency_lead": NOT_FOUND},
    "compliance.respond": {**_others(FORBIDDEN, FORBIDDEN), "agency_lead": NOT_FOUND},
    "compliance.challenge": {**_others(FORBIDDEN, FORBIDDEN), "agency_lead": FORBIDDEN},
    "compliance.accept": {**_others(FORBIDDEN, FORBIDDEN), "agency_lead": FORBIDDEN},
    "compliance.reopen": {**_others(FORBIDDEN, FORBIDDEN), "agency_lead": FORBIDDEN},
    "needs.people": _others(FORBIDDEN, FORBIDDEN),
    "needs.review": _others(FORBIDDEN, FORBIDDEN),
    # An outbox message: someone's email.
    "notifications.message": _others(FORBIDDEN, FORBIDDEN),
    "notifications.retry": _others(FORBIDDEN, FORBIDDEN),
    "suggestions.detail": _others(NOT_FOUND, NOT_FOUND),
    "suggestions.manage_suggestion": _others(FORBIDDEN, FORBIDDEN),
    "suggestions.start_review": _others(FORBIDDEN, FORBIDDEN),
    "suggestions.decide": _others(FORBIDDEN, FORBIDDEN),
    "suggestions.create_course": _others(FORBIDDEN, FORBIDDEN),
}

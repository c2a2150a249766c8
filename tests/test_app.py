"""The app factory, configuration and security headers."""
import pytest

from tests.factories import CoordinatorFactory
from training import create_app
from training.config import ConfigError


def test_production_refuses_the_development_secret_key(monkeypatch):
    monkeypatch.setenv("FLASK_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_accepts_a_real_secret_and_secures_cookies(monkeypatch):
    monkeypatch.setenv("FLASK_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_database_url_picks_the_database(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


def test_default_database_is_sqlite_in_instance_folder(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/training.sqlite")


def test_security_headers_and_nonce(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in response.get_data(as_text=True)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/").headers["Content-Security-Policy"] != csp  # fresh nonce per request


@pytest.mark.parametrize("path", ["/sessions/99999999999999999999", "/courses/2147483648",
                                  "/sessions/99999999999999999999/register"])
def test_ids_beyond_an_integer_column_are_not_found(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/?format=%00", "/?q%00=1"])
def test_nul_in_a_query_is_a_bad_request_not_a_server_error(client, path):
    # PostgreSQL text cannot hold NUL; the app refuses it before any database work.
    response = client.get(path)
    assert response.status_code == 400
    assert "There is a problem with your request" in response.get_data(as_text=True)


def test_nul_in_a_form_is_a_bad_request(client):
    response = client.post("/sign-in", data={"email": "a\x00@example.org", "password": "x"})
    assert response.status_code == 400


def test_templates_share_the_environment_globals_as_a_flat_dict(app):
    """Every import in a page compares these keys: a dict does it in C, a ChainMap key by key."""
    layout = app.jinja_env.get_template("base.html")
    macros = app.jinja_env.get_template("govuk_frontend_jinja/components/button/macro.html")
    assert type(layout.globals) is dict and type(macros.globals) is dict
    assert layout.globals["url_for"] is app.jinja_env.globals["url_for"]
    assert layout.globals["asset_url"] is app.jinja_env.globals["asset_url"]
    # Still each template's own: changing one does not change the environment or another.
    layout.globals["only_here"] = True
    assert "only_here" not in app.jinja_env.globals and "only_here" not in macros.globals
    del layout.globals["only_here"]


def _navigation(html: str) -> str:
    return html[html.index('<div class="govuk-service-navigation"'):html.index("</nav>")]


def test_navigation_for_someone_signed_out(client):
    nav = _navigation(client.get("/").get_data(as_text=True))
    assert 'data-module="govuk-service-navigation"' in nav and '<nav aria-label="Menu"' in nav
    assert ('<li class="govuk-service-navigation__item govuk-service-navigation__item--active">' in nav
            and '<a class="govuk-service-navigation__link" href="/" aria-current="true">'
                '<strong class="govuk-service-navigation__active-fallback">Find a course</strong></a>' in nav)
    assert '<a class="govuk-service-navigation__link" href="/sign-in">Sign in</a>' in nav
    # One item: nothing to collapse on a phone, so no menu button (as GOV.UK's macro decides).
    assert "govuk-service-navigation__toggle" not in nav


def test_navigation_for_a_coordinator_marks_the_section_and_offers_sign_out(login_as):
    nav = _navigation(login_as(CoordinatorFactory()).get("/my-training").get_data(as_text=True))
    assert ('<button type="button" class="govuk-service-navigation__toggle govuk-js-service-navigation-toggle" '
            'aria-controls="navigation" hidden aria-hidden="true">Menu</button>') in nav
    assert '<ul class="govuk-service-navigation__list" id="navigation">' in nav
    assert 'href="/my-training" aria-current="true"><strong' in nav
    assert '<a class="govuk-service-navigation__link" href="/">Find a course</a>' in nav
    for text in ("My sessions", "Results", "Reports", "Manage", "Returns", "Your account"):
        assert f">{text}</a>" in nav, text
    assert 'action="/sign-out"' in nav and 'name="csrf_token"' in nav and ">Sign out</button>" in nav

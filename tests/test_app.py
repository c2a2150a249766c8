"""The app factory, configuration and security headers."""
import pytest

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

"""Signing in and registering are rate limited per client address, on an app with limits on."""
from __future__ import annotations

import pytest
import redis

from tests.factories import TEST_PASSWORD, UserFactory
from tests.security.conftest import without_nonces

REDIS_URL = "redis://127.0.0.1:6379/15"
ADDRESS = {"REMOTE_ADDR": "192.0.2.10"}
OTHER_ADDRESS = {"REMOTE_ADDR": "192.0.2.20"}


def _sign_in(client, email: str = "nobody@example.org", environ=ADDRESS):
    return client.post("/sign-in", data={"email": email, "password": "a wrong password"}, environ_base=environ)


def _assert_too_many(response) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "Too many attempts" in html
    assert "Wait a few minutes and try again" in html


def test_the_eleventh_sign_in_attempt_in_a_minute_is_refused(make_app):
    limited = make_app(RATELIMIT_ENABLED=True)
    assert limited.config["SIGN_IN_RATE_LIMIT"] == "10 per minute; 50 per hour"
    client = limited.test_client()
    statuses = [_sign_in(client).status_code for _ in range(10)]
    assert statuses == [200] * 10  # the form again, with "Enter a correct email address and password"
    _assert_too_many(_sign_in(client))


def test_the_limit_is_per_client_address(make_app):
    client = make_app(RATELIMIT_ENABLED=True, SIGN_IN_RATE_LIMIT="2 per minute").test_client()
    _sign_in(client)
    _sign_in(client)
    _assert_too_many(_sign_in(client))
    assert _sign_in(client, environ=OTHER_ADDRESS).status_code == 200


def test_reading_the_sign_in_page_is_not_limited(make_app):
    client = make_app(RATELIMIT_ENABLED=True, SIGN_IN_RATE_LIMIT="1 per minute").test_client()
    _sign_in(client)
    _assert_too_many(_sign_in(client))
    assert client.get("/sign-in", environ_base=ADDRESS).status_code == 200
    assert client.get("/register", environ_base=ADDRESS).status_code == 200


def test_the_429_page_is_the_same_whether_or_not_the_account_exists(make_app):
    user = UserFactory(email="known@example.org")
    client = make_app(RATELIMIT_ENABLED=True, SIGN_IN_RATE_LIMIT="1 per minute").test_client()
    _sign_in(client, email=user.email)
    for_known = _sign_in(client, email=user.email)
    for_unknown = _sign_in(client, email="unknown@example.org")
    _assert_too_many(for_known)
    _assert_too_many(for_unknown)
    assert without_nonces(for_known.get_data(as_text=True)) == without_nonces(for_unknown.get_data(as_text=True))
    assert user.email not in for_known.get_data(as_text=True)


def test_the_correct_password_is_refused_too_once_limited(make_app):
    user = UserFactory()
    client = make_app(RATELIMIT_ENABLED=True, SIGN_IN_RATE_LIMIT="1 per minute").test_client()
    _sign_in(client, email=user.email)
    response = client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD}, environ_base=ADDRESS)
    _assert_too_many(response)
    assert client.get("/account", environ_base=ADDRESS).status_code == 302  # still signed out


def test_registering_is_limited(make_app):
    client = make_app(RATELIMIT_ENABLED=True).test_client()
    statuses = [client.post("/register", data={}, environ_base=ADDRESS).status_code for _ in range(10)]
    assert 429 not in statuses
    _assert_too_many(client.post("/register", data={}, environ_base=ADDRESS))


def test_the_suite_app_stays_unlimited_after_a_limited_app_is_built(make_app, client):
    limited = make_app(RATELIMIT_ENABLED=True, SIGN_IN_RATE_LIMIT="1 per minute").test_client()
    _sign_in(limited)
    _assert_too_many(_sign_in(limited))
    # The limiter is one object per process: the suite's app (limits off) must not inherit them.
    assert [_sign_in(client).status_code for _ in range(3)] == [200, 200, 200]


@pytest.fixture
def redis_db():
    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


def test_limits_can_be_kept_in_redis(make_app, redis_db):
    client = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=REDIS_URL,
                      SIGN_IN_RATE_LIMIT="2 per minute").test_client()
    _sign_in(client)
    assert redis_db.dbsize() > 0  # the counter lives in Redis, not in this process
    _sign_in(client)
    _assert_too_many(_sign_in(client))
    # A second app on the same Redis (another worker or host) sees the same count.
    other_worker = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=REDIS_URL,
                            SIGN_IN_RATE_LIMIT="2 per minute").test_client()
    _assert_too_many(_sign_in(other_worker))


def _from(client, forwarded_for: str):
    return client.post("/sign-in", data={"email": "a@example.org", "password": "wrong"},
                       environ_base={"REMOTE_ADDR": "127.0.0.1"}, headers={"X-Forwarded-For": forwarded_for})


def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(make_app):
    client = make_app(RATELIMIT_ENABLED=True, SIGN_IN_RATE_LIMIT="1 per minute", TRUSTED_PROXIES=1).test_client()
    assert _from(client, "198.51.100.1").status_code == 200
    _assert_too_many(_from(client, "198.51.100.1"))
    assert _from(client, "198.51.100.2").status_code == 200


def test_without_a_trusted_proxy_x_forwarded_for_cannot_dodge_the_limit(make_app):
    client = make_app(RATELIMIT_ENABLED=True, SIGN_IN_RATE_LIMIT="1 per minute").test_client()
    assert _from(client, "198.51.100.1").status_code == 200
    _assert_too_many(_from(client, "198.51.100.2"))


def test_only_the_limited_views_check_a_limit(make_app):
    """No limit is set for the whole app, so no check runs before every request: the limited
    views' own decorators still refuse the eleventh attempt (above), and other pages never
    consult the limiter."""
    from training.extensions import limiter

    limited = make_app(RATELIMIT_ENABLED=True, SIGN_IN_RATE_LIMIT="1 per minute")
    assert not [hook for hook in limited.before_request_funcs.get(None, []) if getattr(hook, "__self__", None) is limiter]
    client = limited.test_client()
    for _ in range(3):
        assert client.get("/", environ_base=ADDRESS).status_code == 200
    assert _sign_in(client).status_code == 200
    _assert_too_many(_sign_in(client))


def test_a_limit_for_the_whole_app_keeps_the_check_before_every_request(make_app, monkeypatch):
    """Only the per-request check enforces a limit set for the whole app, so it is kept then.
    (The limit is stood in for: Flask-Limiter keeps real ones on the shared extension object,
    where they would outlive this test's app.)"""
    from training.extensions import limiter

    manager_class = type(limiter.limit_manager)
    monkeypatch.setattr(manager_class, "application_limits", property(lambda _self: ["10 per second"]))
    kept = make_app(RATELIMIT_ENABLED=True)
    assert [hook for hook in kept.before_request_funcs.get(None, []) if getattr(hook, "__self__", None) is limiter]

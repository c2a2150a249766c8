"""Fingerprinted, precompressed static assets: the build, asset_url() and the cache headers."""
from __future__ import annotations

import gzip
import json
import re

import pytest
from flask import render_template_string

from tests.conftest import login
from tests.factories import UserFactory
from training import assets

CSS = b".govuk-header { background: url(\"/static/govuk/assets/images/govuk-crest.svg\"); }\n" * 50
SCRIPT = b"import { initAll } from '/static/govuk/govuk-frontend.min.js'\n\ninitAll()\n"
HASHED = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{8})(?P<suffix>\.\w+)$")


@pytest.fixture
def static_dir(tmp_path):
    """A static folder as `make assets` leaves it before fingerprinting."""
    files = {
        "govuk/govuk-frontend.min.js": b"export function initAll() {}\n" * 40,
        "govuk/assets/images/govuk-crest.svg": b"<svg xmlns='http://www.w3.org/2000/svg'></svg>\n" * 20,
        "css/app.css": CSS,
        "js/app.js": SCRIPT,
        "favicon.svg": b"<svg xmlns='http://www.w3.org/2000/svg'><circle r='1'/></svg>\n",
    }
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return tmp_path


@pytest.fixture
def app_with(app, monkeypatch):
    """The app serving static files from another folder, for as long as the test runs."""

    def _use(folder):
        monkeypatch.setattr(app, "static_folder", str(folder))
        return app

    return _use


def _files(folder) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_build_copies_each_asset_to_a_name_with_its_content_hash(static_dir):
    manifest = assets.build(static_dir)

    assert set(manifest) == set(assets.FINGERPRINTED)
    for logical, name in manifest.items():
        match = HASHED.match(name)
        assert match, name
        assert match["stem"] + match["suffix"] == logical
        assert (static_dir / name).exists()
    assert manifest["css/app.css"] == assets.hashed_name("css/app.css", CSS)
    assert (static_dir / manifest["css/app.css"]).read_bytes() == CSS
    assert json.loads((static_dir / assets.MANIFEST_NAME).read_text()) == manifest


def test_a_changed_file_gets_a_new_name_and_the_old_copy_goes(static_dir):
    first = assets.build(static_dir)
    (static_dir / "css/app.css").write_bytes(CSS + b"p { color: red; }\n")

    second = assets.build(static_dir)

    assert second["css/app.css"] != first["css/app.css"]
    assert not (static_dir / first["css/app.css"]).exists()
    assert not (static_dir / (first["css/app.css"] + ".gz")).exists()
    assert (static_dir / second["css/app.css"]).read_bytes().endswith(b"p { color: red; }\n")
    # Files that did not change keep their names.
    assert second["js/app.js"] == first["js/app.js"]


def test_building_twice_changes_nothing(static_dir):
    first = assets.build(static_dir)
    before = {name: (static_dir / name).stat().st_mtime_ns for name in _files(static_dir)}

    assert assets.build(static_dir) == first
    assert {name: (static_dir / name).stat().st_mtime_ns for name in _files(static_dir)} == before


def test_the_hashed_script_imports_the_hashed_govuk_script(static_dir):
    manifest = assets.build(static_dir)

    script = (static_dir / manifest["js/app.js"]).read_text()
    assert f"from '/static/{manifest['govuk/govuk-frontend.min.js']}'" in script
    # The hash covers the rewritten text, so a new GOV.UK script also renames app.js.
    assert manifest["js/app.js"] == assets.hashed_name("js/app.js", script.encode())
    # The source file itself is left alone.
    assert (static_dir / "js/app.js").read_bytes() == SCRIPT


def test_text_files_get_gzip_copies_with_the_same_content(static_dir):
    manifest = assets.build(static_dir)

    for name in (manifest["css/app.css"], "css/app.css", manifest["govuk/govuk-frontend.min.js"],
                 "govuk/assets/images/govuk-crest.svg"):
        original = (static_dir / name).read_bytes()
        packed = (static_dir / (name + ".gz")).read_bytes()
        assert len(packed) < len(original)
        assert gzip.decompress(packed) == original, name
    if assets.brotli is not None:
        css = manifest["css/app.css"]
        assert assets.brotli.decompress((static_dir / (css + ".br")).read_bytes()) == CSS


def test_no_compressed_copy_when_it_would_be_bigger(static_dir):
    (static_dir / "tiny.svg").write_bytes(b"<svg/>")

    assets.build(static_dir)

    assert not (static_dir / "tiny.svg.gz").exists()


def test_a_compressed_copy_whose_source_is_gone_is_removed(static_dir):
    (static_dir / "css/old.css.gz").write_bytes(gzip.compress(b"old"))

    assets.build(static_dir)

    assert not (static_dir / "css/old.css.gz").exists()


def test_asset_url_uses_the_manifest(app, app_with, static_dir):
    manifest = assets.build(static_dir)
    app_with(static_dir)

    with app.test_request_context("/"):
        html = render_template_string("{{ asset_url('css/app.css') }} {{ asset_url('robots.txt') }}")

    assert html == f"/static/{manifest['css/app.css']} /static/robots.txt"


def test_asset_url_falls_back_to_the_plain_name_without_a_manifest(app, app_with, static_dir):
    app_with(static_dir)

    with app.test_request_context("/"):
        assert render_template_string("{{ asset_url('css/app.css') }}") == "/static/css/app.css"


def test_asset_url_sees_a_rebuilt_manifest(app, app_with, static_dir):
    app_with(static_dir)
    first = assets.build(static_dir)
    with app.test_request_context("/"):
        assert render_template_string("{{ asset_url('css/app.css') }}") == f"/static/{first['css/app.css']}"

    (static_dir / "css/app.css").write_bytes(CSS + b"/* changed */\n")
    second = assets.build(static_dir)

    with app.test_request_context("/"):
        assert render_template_string("{{ asset_url('css/app.css') }}") == f"/static/{second['css/app.css']}"


def test_pages_link_to_the_hashed_files(app, app_with, client, static_dir):
    manifest = assets.build(static_dir)
    app_with(static_dir)

    html = client.get("/").get_data(as_text=True)

    for logical in ("css/app.css", "js/app.js", "favicon.svg"):
        assert f'"/static/{manifest[logical]}"' in html
        assert f'"/static/{logical}"' not in html


def test_a_hashed_file_is_cached_for_a_year_and_immutable(app, app_with, client, static_dir):
    manifest = assets.build(static_dir)
    app_with(static_dir)

    response = client.get(f"/static/{manifest['css/app.css']}")

    assert response.status_code == 200
    assert response.get_data() == CSS
    cache = response.cache_control
    assert cache.public and cache.immutable
    assert cache.max_age == 31_536_000


def test_a_file_without_a_hash_gets_a_short_cache(app, app_with, client, static_dir):
    assets.build(static_dir)
    app_with(static_dir)

    for path in ("/static/css/app.css", "/static/govuk/assets/images/govuk-crest.svg"):
        response = client.get(path)
        assert response.status_code == 200
        cache = response.cache_control
        assert cache.max_age == app.config["STATIC_MAX_AGE_SECONDS"] == 3600
        assert not cache.immutable


def test_without_a_manifest_nothing_is_immutable(app, app_with, client, static_dir):
    app_with(static_dir)

    response = client.get("/static/css/app.css")

    assert response.status_code == 200
    assert response.cache_control.max_age == 3600
    assert not response.cache_control.immutable


def test_signed_in_people_get_cached_static_files_but_uncached_pages(app, app_with, client, static_dir):
    manifest = assets.build(static_dir)
    app_with(static_dir)
    login(client, UserFactory())

    static = client.get(f"/static/{manifest['css/app.css']}")
    page = client.get("/account")
    missing = client.get("/static/css/no-such-file.css")

    assert static.status_code == 200
    assert static.cache_control.immutable and not static.cache_control.no_store
    assert page.status_code == 200 and page.cache_control.no_store
    # A missing file's 404 is an ordinary page, with the signed-in person's navigation.
    assert missing.status_code == 404 and missing.cache_control.no_store


def test_the_manifest_is_checked_once_a_request(app, app_with, static_dir, monkeypatch):
    manifest = assets.build(static_dir)
    app_with(static_dir)
    reads = []
    read = assets._read_manifest
    monkeypatch.setattr(assets, "_read_manifest", lambda a: reads.append(1) or read(a))
    with app.test_request_context("/"):
        html = render_template_string("{{ asset_url('css/app.css') }} {{ asset_url('js/app.js') }}")
    assert html == f"/static/{manifest['css/app.css']} /static/{manifest['js/app.js']}"
    assert len(reads) == 1

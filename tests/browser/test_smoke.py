import json
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import CoordinatorFactory
from training.assets import MANIFEST_NAME


def test_catalogue_home_is_accessible(page):
    page.goto("/")
    assert page.get_by_role("heading", level=1).inner_text() == "Find a course"
    assert_accessible(page)


def test_the_page_loads_its_styles_and_scripts_by_their_built_names(app, page):
    static_responses = []
    page.on("response", lambda r: static_responses.append(r) if "/static/" in r.url else None)

    page.goto("/")
    page.wait_for_load_state("networkidle")

    manifest_path = Path(app.static_folder) / MANIFEST_NAME
    # `make test` runs `make assets` first, so the manifest is there; a fresh checkout has none.
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    stylesheet = page.locator("link[rel=stylesheet]").get_attribute("href")
    assert stylesheet == "/static/" + manifest.get("css/app.css", "css/app.css")
    # The styles applied: the app's font (the browser's own is a serif) and GOV.UK's page margins.
    heading = page.get_by_role("heading", level=1)
    assert "arial" in heading.evaluate("h => getComputedStyle(h).fontFamily").lower()
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"
    # Every stylesheet, script (app.js and the GOV.UK script it imports) and image was found.
    assert static_responses and all(r.status == 200 for r in static_responses), [
        (r.url, r.status) for r in static_responses
    ]
    loaded = {r.url.split("/static/", 1)[1] for r in static_responses}
    expected = {manifest.get(name, name) for name in ("css/app.css", "js/app.js", "govuk/govuk-frontend.min.js")}
    assert expected <= loaded


def test_on_a_phone_the_menu_button_opens_the_navigation(page):
    CoordinatorFactory(email="phone.coordinator@example.org")
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, "phone.coordinator@example.org")
    page.goto("/my-training")
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("link", name="Reports")).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="Reports")).to_be_visible()
    assert_accessible(page)

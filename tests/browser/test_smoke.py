from tests.browser.conftest import assert_accessible


def test_catalogue_home_is_accessible(page):
    page.goto("/")
    assert page.get_by_role("heading", level=1).inner_text() == "Find a course"
    assert_accessible(page)

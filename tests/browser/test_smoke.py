"""The browser harness itself: Chromium opens a page the live server renders and its static assets load."""

from tests.browser.conftest import screenshot


def test_api_reference_renders_in_chromium(page, context):
    response = page.goto("/v1/docs")
    assert response.status == 200
    assert "Infergate" in page.title()
    screenshot(page, "api-reference")
    assert context.console_errors == []


def test_static_files_are_served_without_collectstatic(page):
    response = page.goto("/static/admin/css/base.css")
    assert response.status == 200
    assert "body" in response.text()

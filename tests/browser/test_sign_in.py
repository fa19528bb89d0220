"""Signing in and out through the real form."""

import pytest
from django.contrib.auth import get_user_model

from tests.browser.conftest import screenshot


@pytest.fixture
def member(transactional_db):
    return get_user_model().objects.create_user("ada", "ada@example.com", "correct horse battery")


def test_wrong_password_is_refused_and_right_one_signs_in_and_out(page, member):
    page.goto("/accounts/login/?next=/v1/docs")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").wait_for()
    assert "did not match" in page.get_by_role("alert").inner_text()
    screenshot(page, "sign-in-refused")

    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/v1/docs")

    page.goto("/accounts/login/")  # a signed-in user is sent on
    assert not page.url.endswith("/accounts/login/")
    page.goto("/v1/docs")
    page.request.post("/accounts/logout/")  # without the CSRF token: refused, still signed in
    page.goto("/accounts/login/")
    assert not page.url.endswith("/accounts/login/")

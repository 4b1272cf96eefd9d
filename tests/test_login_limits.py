"""Logins and sign-ups have limits: after LOGIN_FAILURE_LIMIT wrong passwords an account is locked
for that address (site and admin login alike), with a message saying how long to wait; sign-ups
per address are counted (SIGNUP_RATE)."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"  # tests/conftest.py's make_user


def attempt(client: Client, url: str, username: str, password: str):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=client.address)


def client_at(address: str) -> Client:
    client = Client()
    client.address = address
    return client


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_five_wrong_passwords_lock_the_account_for_that_address_with_a_message(url, make_user, settings):
    make_user("owner", is_staff=True)  # staff, so that the admin would let them in
    make_user("neighbour", is_staff=True)
    attacker = client_at("203.0.113.7")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(attacker, url, "owner", "guess").status_code == 200  # the form again, with its error
    locked = attempt(attacker, url, "owner", "guess")
    assert locked.status_code == 429
    right = attempt(attacker, url, "owner", PASSWORD)
    assert right.status_code == 429 and "_auth_user_id" not in attacker.session
    page = right.content.decode()
    assert "Too many failed logins for this account from your address. Wait 15 minutes" in page
    assert 'name="password"' in page  # still the login page, not a bare error

    # Another account from the same address, and the owner from their own address, are not affected.
    assert attempt(attacker, url, "neighbour", PASSWORD).status_code == 302
    owner_at_home = client_at("198.51.100.20")
    assert attempt(owner_at_home, url, "owner", PASSWORD).status_code == 302
    assert owner_at_home.session["_auth_user_id"] == str(get_user_model().objects.get(username="owner").pk)


def test_the_message_is_translated(make_user, settings):
    make_user("owner")
    attacker = client_at("203.0.113.8")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attacker.post("/accounts/login/", {"username": "owner", "password": "guess"}, REMOTE_ADDR=attacker.address,
                      HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = attacker.post("/accounts/login/", {"username": "owner", "password": PASSWORD}, REMOTE_ADDR=attacker.address,
                         HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "15 分钟" in page


def test_a_successful_login_resets_the_count(make_user, settings):
    make_user("owner")
    member = client_at("203.0.113.9")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(member, "/accounts/login/", "owner", "typo")
    assert attempt(member, "/accounts/login/", "owner", PASSWORD).status_code == 302
    member.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(member, "/accounts/login/", "owner", "typo")
    assert attempt(member, "/accounts/login/", "owner", PASSWORD).status_code == 302


def test_behind_a_trusted_proxy_the_lockout_counts_the_forwarded_address(make_user, settings):
    """With TRUSTED_PROXY_COUNT=1 the proxy's own address is not the client's: two clients behind it
    are told apart, and a forged X-Forwarded-For before the proxy's entry changes nothing."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    from rest_framework import settings as drf_settings

    drf_settings.api_settings.reload()
    try:
        make_user("owner")
        proxy = Client()
        for n in range(settings.AXES_FAILURE_LIMIT):
            proxy.post("/accounts/login/", {"username": "owner", "password": "guess"}, REMOTE_ADDR="10.0.0.1",
                       HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.50")  # forged first entries vary
        assert proxy.post("/accounts/login/", {"username": "owner", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1",
                          HTTP_X_FORWARDED_FOR="203.0.113.50").status_code == 429
        assert Client().post("/accounts/login/", {"username": "owner", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1",
                             HTTP_X_FORWARDED_FOR="203.0.113.51").status_code == 302
    finally:
        drf_settings.api_settings.reload()


def test_a_test_logged_in_with_force_login_is_not_counted(client, make_user):
    user = make_user("owner")
    for _ in range(20):
        client.force_login(user)
        assert client.get("/jobs/").status_code == 200


# --- sign-ups ----------------------------------------------------------------------------------------

def signup(client: Client, n: int):
    return client.post("/accounts/signup/", {"username": f"newcomer{n}", "password1": "a-long-pass-phrase-9",
                                             "password2": "a-long-pass-phrase-9"}, REMOTE_ADDR=client.address)


def test_sign_ups_per_address_are_limited_with_a_message(settings):
    settings.SIGNUP_RATE = "3/hour"
    cache.clear()
    crowd = client_at("203.0.113.77")
    for n in range(3):
        assert signup(crowd, n).status_code == 302
        crowd.logout()
    # A form with a mistake does not count; the fourth account does not come.
    assert crowd.post("/accounts/signup/", {"username": "typo", "password1": "x", "password2": "y"},
                      REMOTE_ADDR=crowd.address).status_code == 400
    refused = signup(crowd, 3)
    assert refused.status_code == 429
    assert "Too many accounts were made from your address; please wait 60 minutes" in refused.content.decode()
    assert get_user_model().objects.filter(username__startswith="newcomer").count() == 3
    assert signup(client_at("198.51.100.3"), 4).status_code == 302  # another address is not affected
    cache.clear()

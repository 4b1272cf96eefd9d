from django.contrib.auth import get_user_model


def test_sign_up_logs_the_new_user_in(client, db):
    response = client.post("/accounts/signup/", {"username": "mei", "password1": "Old-film-1925",
                                                 "password2": "Old-film-1925"})
    assert response.status_code == 302
    assert get_user_model().objects.filter(username="mei").exists()
    assert "mei" in client.get("/").content.decode()


def test_sign_up_with_mismatched_passwords_says_so(client, db):
    response = client.post("/accounts/signup/", {"username": "mei", "password1": "Old-film-1925",
                                                 "password2": "Old-film-1926"})
    assert response.status_code == 400
    assert "didn’t match" in response.content.decode() or "didn't match" in response.content.decode()
    assert not get_user_model().objects.exists()


def test_log_in_and_out(client, owner):
    response = client.post("/accounts/login/", {"username": "owner", "password": "pw-for-tests-1"})
    assert response.status_code == 302
    assert client.get("/jobs/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/jobs/").status_code == 302


def test_sign_up_goes_back_to_the_page_the_visitor_came_from_but_never_off_site(client, db):
    data = {"username": "lin", "password1": "Old-film-1925", "password2": "Old-film-1925"}
    assert client.post("/accounts/signup/", {**data, "next": "/gallery/"})["Location"] == "/gallery/"
    client.logout()
    data["username"] = "wu"
    assert client.post("/accounts/signup/", {**data, "next": "https://evil.example/"})["Location"] == "/"

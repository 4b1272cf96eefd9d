"""Issue 12 polish: favicon, one date format per language, the item page's section bar and login
return to #restore, the clip shown once on phones, cancel asks first, thumbnails in "My jobs"."""
import datetime as dt
from unittest import mock

from django.contrib.auth import get_user_model
from django.urls import reverse

from gallery.models import Item
from jobs.models import Job
from tests.gallery.factories import make_item, make_version
from tests.jobs.factories import job_for


def test_every_page_links_the_favicon_and_favicon_ico_answers(client, db):
    page = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon["Content-Type"] == "image/svg+xml"
    assert icon.content == open("static/favicon.svg", "rb").read() and icon.content.startswith(b"<svg")


def test_dates_have_one_format_per_language(client, make_user):
    person = make_user("dated")
    get_user_model().objects.filter(pk=person.pk).update(
        date_joined=dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.timezone.utc))
    english = client.get(reverse("profile", args=["dated"]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "4 Dec 2026" in english
    chinese = client.get(reverse("profile", args=["dated"]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "2026年12月4日" in chinese


def test_my_jobs_dates_use_the_language_format(owner_client, owner, film_clip, media_root):
    with mock.patch("jobs.tasks.run_job.apply_async"):
        job = job_for(owner, film_clip)
    Job.objects.filter(pk=job.pk).update(created_at=dt.datetime(2026, 12, 4, 9, 5, tzinfo=dt.timezone.utc))
    assert "4 Dec 2026, 09:05" in owner_client.get("/jobs/").content.decode()
    assert "2026年12月4日 09:05" in owner_client.get("/jobs/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


def test_the_item_page_has_a_section_bar_whose_anchors_exist(client, db, media_root):
    item = make_item()
    page = client.get(item.get_absolute_url()).content.decode()
    assert 'class="section-bar"' in page
    for anchor in ("original", "compare", "versions", "restore", "comments"):
        assert f'href="#{anchor}"' in page and f'id="{anchor}"' in page


def test_log_in_to_restore_returns_to_the_restore_section(client, owner, db, media_root):
    item = make_item()
    page = client.get(item.get_absolute_url()).content.decode()
    login_link = f'/accounts/login/?next={item.get_absolute_url()}%23restore'
    assert login_link in page
    form = client.get(login_link).content.decode()
    assert f'name="next" value="{item.get_absolute_url()}#restore"' in form
    response = client.post(login_link, {"username": owner.username, "password": "pw-for-tests-1",
                                        "next": f"{item.get_absolute_url()}#restore"})
    assert response.status_code == 302 and response["Location"] == f"{item.get_absolute_url()}#restore"


def test_a_next_elsewhere_is_still_refused(client, owner, db):
    response = client.post("/accounts/login/", {"username": owner.username, "password": "pw-for-tests-1",
                                                "next": "https://evil.example/#restore"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_a_film_with_restorations_marks_its_original_clip_as_shown_in_the_compare(client, owner, media_root):
    film = make_item(kind=Item.Kind.FILM)
    bare = client.get(film.get_absolute_url()).content.decode()
    assert "shown-in-compare" not in bare
    make_version(film, owner)
    page = client.get(film.get_absolute_url()).content.decode()
    assert 'class="media original-media shown-in-compare"' in page
    css = open("static/css/site.css").read()
    assert ".original-media.shown-in-compare { display: none; }" in css


def test_cancel_asks_first_and_cancels_only_when_confirmed(owner_client, owner, film_clip, media_root):
    with mock.patch("jobs.tasks.run_job.apply_async"):
        job = job_for(owner, film_clip)
    detail = owner_client.get(reverse("jobs:detail", args=[job.id])).content.decode()
    assert 'data-confirm="Cancel this job? The work done so far is lost."' in detail
    asked = owner_client.post(reverse("jobs:cancel", args=[job.id]))
    assert asked.status_code == 200 and 'name="confirm" value="1"' in asked.content.decode()
    job.refresh_from_db()
    assert job.state == "queued" and not job.cancel_requested
    done = owner_client.post(reverse("jobs:cancel", args=[job.id]), {"confirm": "1"})
    assert done.status_code == 302
    job.refresh_from_db()
    assert job.state == "cancelled" or job.cancel_requested


def test_my_jobs_show_a_thumbnail_of_each_own_job(owner_client, owner, make_user, client, film_clip, noisy_png,
                                                  media_root, tmp_path):
    still = tmp_path / "still.png"
    still.write_bytes(noisy_png)
    with mock.patch("jobs.tasks.run_job.apply_async"):
        image_job = job_for(owner, still, recipe="painting")
        film_job = job_for(owner, film_clip)
    Job.objects.filter(pk=film_job.pk).update(preview="data:image/jpeg;base64,AAAA")
    page = owner_client.get("/jobs/").content.decode()
    assert '<img class="job-thumb" src="data:image/jpeg;base64,AAAA"' in page
    assert f'<img class="job-thumb" src="{reverse("jobs:source", args=[image_job.id])}"' in page
    # Staff reading the owner's profile see the jobs but not the owner's pictures.
    staff = make_user("staffer")
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    profile = client.get(reverse("profile", args=[owner.username])).content.decode()
    assert reverse("jobs:detail", args=[film_job.id]) in profile
    assert "data:image/jpeg;base64,AAAA" not in profile and 'job-thumb thumb-placeholder' in profile
    assert reverse("jobs:source", args=[image_job.id]) not in profile

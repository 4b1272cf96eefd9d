"""Every main page in 简体中文 has no English left in its visible text (issue 12).

Pages are rendered in zh-hans; the text a reader sees (text nodes and the attributes a browser shows
or reads aloud: title, alt, placeholder, aria-label, button values) is scanned for Latin words.
What may stay Latin: user and item content (titles, names, descriptions: removed before the scan),
proper nouns and units in ALLOWED, with their reasons, and anything inside lang="en" or translate="no".
"""
import re
from html.parser import HTMLParser
from unittest import mock

import pytest
from django.urls import reverse

# Latin words a Chinese page may show, each with its reason.
ALLOWED = {
    "API": "the footer link; a technical name Chinese developers use as is",
    "English": "the language menu names each language in itself",
    "GPU": "hardware name", "CPU": "hardware name",
    "AI": "used as is in Chinese",
    "fps": "unit", "px": "unit", "MB": "unit", "KB": "unit", "GB": "unit",
    "JPEG": "format name", "PNG": "format name", "MP4": "format name", "WebM": "format name",
    "AVI": "format name", "MKV": "format name", "MOV": "format name", "MP": "format name (MP4)", "TIFF": "format name",
    "WebP": "format name", "mov": "container name read from the file", "aac": "codec name read from the file",
    "SHA-": "hash name (SHA-256)",
    "CC": "licence family name", "BY": "licence name (CC BY)", "SA": "licence name (CC BY-SA)",
    "NC": "licence name", "ND": "licence name", "PD": "licence name", "CC0": "licence name",
    "BY-SA": "licence name", "BY-NC": "licence name", "BY-ND": "licence name", "BY-NC-SA": "licence name",
    "BY-NC-ND": "licence name",
    "GPEN": "a model's name, as its authors write it", "Real-ESRGAN": "a model's name, as its authors write it",
    "Lanczos": "a filter named after a person",
}
SKIP_TAGS = {"script", "style", "template", "code", "pre", "textarea"}
VISIBLE_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # per open element: is its text skipped
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        skipped = bool(self.stack and self.stack[-1]) or tag in SKIP_TAGS or attrs.get("translate") == "no" \
            or (attrs.get("lang") not in (None, "zh-hans"))
        if not skipped:
            self.parts.extend(value for name, value in attrs.items() if name in VISIBLE_ATTRIBUTES and value)
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.parts.append(attrs["value"])
        if tag not in {"br", "img", "input", "meta", "link", "hr", "source", "track", "wbr"}:
            self.stack.append(skipped)

    def handle_endtag(self, tag):
        if self.stack and tag not in {"br", "img", "input", "meta", "link", "hr", "source", "track", "wbr"}:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def english_words(html: str, content: list[str]) -> list[str]:
    parser = _Text()
    parser.feed(html)
    text = "\n".join(parser.parts)
    for value in sorted((c for c in content if c), key=len, reverse=True):
        text = text.replace(value, " ")
    words = re.findall(r"[A-Za-z][A-Za-z'’-]+", text)
    return sorted({w for w in words if w not in ALLOWED})


@pytest.fixture
def demo(db, media_root):
    from gallery.demo import seed_demo_items

    seed_demo_items(with_versions=False)


def _content() -> list[str]:
    """Item, version, collection, partner and user text: content, not interface."""
    from django.contrib.auth import get_user_model

    from gallery.models import Collection, Item, Partner, Version

    values = []
    for item in Item.objects.all():
        values += [item.title, item.title_en, item.title_zh, item.display_title, item.description, item.creator,
                   item.institution, item.place, item.date_text, item.call_number, item.source_url, item.rights,
                   item.credit_line, item.slug, *item.tag_list]
    for version in Version.objects.all():
        values += [version.title, getattr(version, "description", "")]
    for model in (Collection, Partner):
        for obj in model.objects.all():
            values += [str(getattr(obj, f, "") or "") for f in ("title", "title_en", "title_zh", "display_title",
                       "description", "name", "display_name", "slug", "url", "website")]
    values += [u.username for u in get_user_model().objects.all()]
    from jobs.models import Job
    values += [job.source_name for job in Job.objects.all()]
    return [v for v in values if isinstance(v, str)]


def _pages(client, owner, film_clip):
    from gallery.models import Collection, Item, Partner
    from tests.jobs.factories import gpu_worker, job_for

    pages = {"home": "/", "gallery": reverse("gallery"), "login": reverse("login"), "signup": reverse("signup"),
             "404": "/no-such-page/"}
    for item in Item.objects.all():
        pages[f"item {item.slug}"] = item.get_absolute_url()
    for collection in Collection.objects.all()[:1]:
        pages["collection"] = collection.get_absolute_url()
    for partner in Partner.objects.all()[:1]:
        pages["partner"] = partner.get_absolute_url()
    client.force_login(owner)
    gpu_worker()  # the faces and super-resolution recipes ask for one
    with mock.patch("jobs.tasks.run_job.apply_async"):
        queued = job_for(owner, film_clip)
        jobs = {state: job_for(owner, film_clip, recipe=recipe) for state, recipe in (
            ("running", "film-sr"), ("failed", "film-light"), ("cancelled", "film-motion"), ("succeeded", "film-faces"))}
    from jobs.models import Job
    for state, job in jobs.items():
        Job.objects.filter(pk=job.pk).update(state=state, error="")
    done = jobs["succeeded"]
    done.refresh_from_db()
    done.result.save("result.mp4", film_clip.open("rb"), save=False)
    # What a finished faces job records: a model by title and licence, and the notes the engine coded.
    done.recipe = {**done.recipe, "provenance": {
        "models": [{"key": "realesr-animevideov3-x2", "sha256": "548a36f9c3f4ab8d" + "0" * 48, "licence": "BSD-3-Clause"}],
        "facts": [{"stage": "faces", "code": "faces.fallback_sr", "values": {}},
                  {"stage": "faces", "code": "faces.tracked",
                   "values": {"faces": 2, "frames": 24, "restored": 4, "seen": 48}}]}}
    done.save()
    pages.update({"profile": reverse("profile", args=[owner.username]), "job new": reverse("jobs:new"),
                  "my jobs": reverse("jobs:list"), "colorize": reverse("jobs:colorize"),
                  "job queued": reverse("jobs:detail", args=[queued.id])})
    for state, job in jobs.items():
        pages[f"job {state}"] = reverse("jobs:detail", args=[job.id])
        pages[f"job {state}, its end part"] = reverse("jobs:outcome", args=[job.id])
    return pages


def test_chinese_pages_have_no_english_left(client, owner, demo, film_clip, settings):
    settings.JOB_MAX_ACTIVE_PER_USER = 10  # a job in each state, some of them active at once
    pages = _pages(client, owner, film_clip)
    content = _content()
    left = {}
    for name, url in pages.items():
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code in (200, 404), (name, url, response.status_code)
        words = english_words(response.content.decode(), content)
        if words:
            left[name] = words
    assert left == {}

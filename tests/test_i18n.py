import re
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

PO_FILE = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_every_ui_string_has_a_chinese_translation():
    text = PO_FILE.read_text(encoding="utf-8")
    entries = re.findall(r'^(#, fuzzy\n)?msgid ((?:".*"\n)+)msgstr ((?:".*"\n)+)', text, flags=re.M)
    assert len(entries) > 50
    untranslated = [msgid for fuzzy, msgid, msgstr in entries[1:] if fuzzy or msgstr.strip() == '""']
    assert untranslated == []


def test_pages_speak_chinese_when_asked(owner_client):
    page = owner_client.get("/jobs/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "我的任务" in page and 'lang="zh-hans"' in page


def test_the_language_switch_remembers_the_choice(owner_client):
    owner_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "修复文件" in owner_client.get("/").content.decode()


def test_upload_errors_are_translated(owner_client, media_root):
    response = owner_client.post("/api/jobs/", {"file": SimpleUploadedFile("a.png", b"junk"), "recipe": "film-default"},
                                 HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert response.json()["message"].startswith("无法使用此文件：这不是我们能读取的图片或视频。")

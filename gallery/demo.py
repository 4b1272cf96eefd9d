"""Demo content made offline from scikit-image's sample photos, so a new site is not empty."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from skimage import data

from engine.io import probe
from engine.io.image import write_image
from engine.pipeline import Pipeline
from engine.recipes import load_recipe
from engine.faces.synthetic import moving_faces_clip
from engine.synthetic import degrade, make_old_film, write_clip
from gallery.models import (Collection, CollectionItem, Item, Licence, Partner, Version, item_file_path,
                            version_file_path)
from gallery.services import media_poster_jpeg, poster_name
from restoration_site.media import media_delete, media_save, media_save_bytes, scratch_dir

DEMO_RESTORER = "demo-restorer"
DEMO_PARTNER = "demo-partner"
DEMO_COLLECTION = "demo-collection"
SAMPLE_CREDIT = "Sample photo shipped with scikit-image; degraded on purpose to look like old film."

DEMO_ITEMS = [
    {
        "slug": "demo-astronaut-film", "kind": Item.Kind.FILM, "sample": "astronaut",
        "title": "Portrait of an astronaut (demo film)", "title_zh": "宇航员肖像（演示影片）",
        "description": "NASA portrait of Eileen Collins, turned into a flickering, scratched 12 fps clip.",
        "description_zh": "NASA 拍摄的艾琳·柯林斯肖像，被处理成闪烁、带划痕的 12 帧/秒老片段。",
        "date_text": "1992", "year": 1992, "place": "Houston, USA", "creator": "NASA", "rights": "Public domain (NASA)",
    },
    {
        "slug": "demo-rocket-film", "kind": Item.Kind.FILM, "sample": "rocket",
        "title": "Rocket on the launch pad (demo film)", "title_zh": "发射台上的火箭（演示影片）",
        "description": "A launch pad photo turned into a 16 fps clip with grain and exposure flicker.",
        "description_zh": "一张发射台照片，被处理成带颗粒和曝光闪烁的 16 帧/秒片段。",
        "date_text": "2000s", "year": 2000, "date_precision": "decade", "place": "", "creator": "", "rights": "Public domain",
    },
    {
        "slug": "demo-three-people-film", "kind": Item.Kind.FILM, "sample": "three-people", "recipe": "film-faces",
        "title": "Three faces crossing (demo film)", "title_zh": "交错而过的三张脸（演示影片）",
        "description": "Three faces cut from the astronaut portrait move across a photo of a coffee cup, one "
                       "passing in front of another, as a grainy gray 12 fps clip: a test for the faces stage.",
        "description_zh": "从宇航员肖像中取出的三张脸在一张咖啡杯照片上移动，其中一人从另一人前面经过，"
                          "处理成带颗粒的灰度 12 帧/秒片段，用来试验人脸修复。",
        "date_text": "1992", "year": 1992, "place": "", "creator": "NASA", "rights": "Public domain (NASA)",
    },
    {
        "slug": "demo-cameraman-photo", "kind": Item.Kind.PHOTO, "sample": "camera",
        "title": "The cameraman (demo photo)", "title_zh": "摄影师（演示照片）",
        "description": "The classic test photograph, with grain, dust and a scratch added.",
        "description_zh": "经典测试照片，加上了颗粒、灰尘和划痕。",
        "date_text": "c. 1978", "year": 1978, "circa": True, "place": "Cambridge, USA", "creator": "", "rights": "Free to use (scikit-image sample)",
    },
    {
        "slug": "demo-coffee-photo", "kind": Item.Kind.PHOTO, "sample": "coffee",
        "title": "A cup of coffee (demo photo)", "title_zh": "一杯咖啡（演示照片）",
        "description": "A color photo faded to gray with grain, as an old print would be.",
        "description_zh": "一张彩色照片，褪成带颗粒的灰度，像一张旧相片。",
        "date_text": "2000s", "year": 2000, "date_precision": "decade", "place": "", "creator": "Rachel Michetti", "rights": "CC0 (scikit-image sample)",
    },
]


def _sample_rgb(name: str) -> np.ndarray:
    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return image[..., :3].astype(np.uint8)


def demo_content_present() -> bool:
    """Whether seed_demo_items has nothing to make: every demo item, the demo partner and the demo
    collection are there. Three queries: `make run` asks at every start."""
    slugs = [spec["slug"] for spec in DEMO_ITEMS]
    return (Item.objects.filter(slug__in=slugs).count() == len(slugs)
            and Partner.objects.filter(slug=DEMO_PARTNER).exists()
            and Collection.objects.filter(slug=DEMO_COLLECTION).exists())


def seed_demo_items(stdout=None, *, with_versions: bool = True) -> int:
    """Create the demo items that are missing; returns how many were made. The files are made in a
    scratch folder and stored through the media storage (a local folder or the bucket).

    With `with_versions`, each gets a first restoration made by the engine (a few seconds each).
    """
    made = 0
    for spec in DEMO_ITEMS:
        if Item.objects.filter(slug=spec["slug"]).exists():
            continue
        fields = {k: v for k, v in spec.items() if k not in ("sample", "recipe")}
        item = Item(credit_line=SAMPLE_CREDIT, institution="scikit-image sample data",
                    call_number="skimage.data." + spec["sample"], **fields)
        stored: list[str] = []
        try:
            with tempfile.TemporaryDirectory(dir=scratch_dir("demo")) as work, transaction.atomic():
                original = _make_demo_item(item, spec, Path(work), stored, seed=made)
                if with_versions:
                    _restore_demo_item(item, original, stored, spec.get("recipe"))
        except BaseException:
            media_delete(*stored)  # the rows were rolled back: a later run makes the item again
            raise
        made += 1
        if stdout is not None:
            stdout.write(f"  demo item: {item.title}")
    _demo_collection()
    return made


def _store(local: Path, name: str, stored: list[str]) -> str:
    """Store `local` as `name` (or a free name beside it), noting the stored name in `stored`."""
    stored.append(media_save(local, name))
    return stored[-1]


def _store_poster(media: Path, kind: str, media_name: str, stored: list[str]) -> str:
    stored.append(media_save_bytes(media_poster_jpeg(media, kind), poster_name(media_name)))
    return stored[-1]


def _make_demo_item(item: Item, spec: dict, work: Path, stored: list[str], *, seed: int) -> Path:
    """Make the item's degraded original in `work`, store it and its poster, save the row; returns
    the local original."""
    if spec["sample"] == "three-people":
        media = work / "original.mp4"
        _write_three_people(media, seed=seed)
    elif item.kind == Item.Kind.FILM:
        photo = _sample_rgb(spec["sample"])
        media = work / "original.mp4"
        fps = 12.0 if "astronaut" in spec["slug"] else 16.0
        make_old_film(photo, media, seconds=3.0, fps=fps, size=(480, 360), seed=seed)
    else:
        media = work / "original.png"
        write_image(media, degrade(_sample_rgb(spec["sample"]), np.random.default_rng(seed), flicker=0.0))
    item.media_info = probe(media).as_dict()
    item.media.name = _store(media, item_file_path(item, media.name), stored)
    item.poster.name = _store_poster(media, item.media_info["kind"], item.media.name, stored)
    item.full_clean()
    item.save()
    return media


def _demo_restorer():
    user, created = get_user_model().objects.get_or_create(username=DEMO_RESTORER)
    if created:
        user.set_unusable_password()
        user.save()
    return user


def _write_three_people(path: Path, *, seed: int) -> None:
    """A short gray, grainy clip of three moving faces, with a sound track."""
    rng = np.random.default_rng(seed)
    clean = moving_faces_clip(count=24, size=(480, 360), head=96).frames
    write_clip(path, [degrade(frame, rng, flicker=0.08, grain=8.0, scratches=0) for frame in clean], fps=12.0,
               audio_seconds=2.0)


def _restore_demo_item(item: Item, original: Path, stored: list[str], recipe_name: str | None = None) -> None:
    """A first version of each demo item, made by the engine with a preset from its local
    `original`, so pages can compare."""
    recipe = load_recipe(recipe_name or ("film-default" if item.kind == Item.Kind.FILM else "painting"))
    version = Version(item=item, author=_demo_restorer(), title=f"Demo restoration ({recipe.name})",
                      licence=Licence.CC_BY, recipe=recipe.as_dict(), featured=True)
    restored = original.with_name("restored" + original.suffix)
    run = Pipeline(recipe).run(original, restored)
    version.recipe = {**version.recipe, "provenance": run.provenance}
    version.media_info = probe(restored).as_dict()
    version.media.name = _store(restored, version_file_path(version, "media" + restored.suffix), stored)
    version.poster.name = _store_poster(restored, version.media_info["kind"], version.media.name, stored)
    version.full_clean()
    version.save()


def _demo_collection() -> None:
    partner, _created = Partner.objects.get_or_create(slug=DEMO_PARTNER, defaults={
        "name": "Demo partner", "name_zh": "演示合作方",
        "description": "A stand-in for a media partner, so a new site shows what a collaboration page looks like.",
        "description_zh": "代替真实合作媒体的演示条目，让新站点展示合作页面的样子。"})
    collection, created = Collection.objects.get_or_create(slug=DEMO_COLLECTION, defaults={
        "title": "First restorations", "title_zh": "最初的修复", "partner": partner, "is_published": True,
        "introduction": "The demo items and their first restorations, made by this site's engine.",
        "introduction_zh": "演示藏品及其由本站引擎完成的第一批修复。"})
    if created:
        for position, item in enumerate(Item.objects.filter(slug__in=[s["slug"] for s in DEMO_ITEMS])):
            CollectionItem.objects.create(collection=collection, item=item, position=position)

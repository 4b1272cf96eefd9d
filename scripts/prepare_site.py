"""Get the database, the static files and the demo content ready for `make run`, doing only what is needed.

Usage: python scripts/prepare_site.py   (scripts/run.py runs it before starting the site's processes)

One process, Django loaded once: the system checks always run; `migrate` only when a migration on
disk is not applied; `collectstatic` only when a static file (or a setting that shapes the collected
files) changed since the last collection; the demo content only when some of it is missing. A first
start does all three. Running in a child of the launcher, not in the launcher itself, gives back
its memory (the demo restorations load the engine) once the site is ready.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The fingerprint of the static files last collected, to compare with the next start's.
STATIC_FINGERPRINT = ROOT / "var" / "static-fingerprint.json"


def pending_migrations() -> list[str]:
    """The migrations `migrate` would apply ("app.name"); a conflict between migrations counts as one
    too, so that `migrate` reports it."""
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    conflicts = executor.loader.detect_conflicts()
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{app}: conflicting migrations" for app in conflicts] + [f"{m.app_label}.{m.name}" for m, _ in plan]


def static_sources_digest() -> str:
    """A hash of what collectstatic would collect: every source file's place, size and mtime (the
    same finders and ignore patterns as collectstatic), and the settings that shape the output."""
    import django
    import whitenoise
    from django.apps import apps
    from django.conf import settings
    from django.contrib.staticfiles import finders

    ignore = apps.get_app_config("staticfiles").ignore_patterns
    files = []
    for finder in finders.get_finders():
        for path, storage in finder.list(ignore):
            stat = os.stat(storage.path(path))
            files.append([str(storage.location), getattr(storage, "prefix", None) or "", path,
                          stat.st_size, stat.st_mtime_ns])
    shaping = [str(settings.STATIC_ROOT), settings.STATIC_URL, settings.STORAGES["staticfiles"],
               {name: repr(getattr(settings, name)) for name in dir(settings) if name.startswith("WHITENOISE_")},
               django.get_version(), getattr(whitenoise, "__version__", "")]
    return hashlib.sha256(json.dumps([shaping, sorted(files)], sort_keys=True).encode()).hexdigest()


def collected_manifest() -> list[int] | None:
    """Size and mtime of the collected files' manifest (STATIC_ROOT/staticfiles.json), None if absent:
    a STATIC_ROOT emptied or collected again by hand is noticed."""
    from django.contrib.staticfiles.storage import staticfiles_storage

    try:
        stat = os.stat(staticfiles_storage.path(staticfiles_storage.manifest_name))
    except FileNotFoundError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def static_fingerprint(sources: str) -> dict:
    return {"sources": sources, "manifest": collected_manifest()}


def stored_static_fingerprint() -> dict | None:
    try:
        return json.loads(STATIC_FINGERPRINT.read_text())
    except (FileNotFoundError, ValueError):
        return None


def prepare(out=sys.stdout) -> None:
    """Check, then migrate, collect and seed where needed, saying on `out` what was done or skipped."""
    from django.core.management import call_command

    from gallery.demo import demo_content_present

    # The system checks, which `migrate` used to run at every start: a misconfigured production
    # site (an in-memory channel layer, eager Celery) stops here.
    call_command("check", stdout=io.StringIO())
    skipped = []

    pending = pending_migrations()
    if pending:
        print(f"Migrating the database ({len(pending)} migration(s) to apply)", file=out, flush=True)
        call_command("migrate", interactive=False, verbosity=0)
    else:
        skipped.append("database up to date")

    sources = static_sources_digest()
    if stored_static_fingerprint() != static_fingerprint(sources):
        print("Collecting static files (new or changed since the last collection)", file=out, flush=True)
        STATIC_FINGERPRINT.unlink(missing_ok=True)  # a collection broken off must not count as done
        call_command("collectstatic", interactive=False, verbosity=0)
        STATIC_FINGERPRINT.parent.mkdir(parents=True, exist_ok=True)
        STATIC_FINGERPRINT.write_text(json.dumps(static_fingerprint(sources)))
    else:
        skipped.append("static files unchanged")

    if demo_content_present():
        skipped.append("demo content present")
    else:
        print("Creating the demo content", file=out, flush=True)
        call_command("seed_demo", stdout=out)

    if skipped:
        print(", ".join(skipped).capitalize(), file=out, flush=True)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "restoration_site.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import CommandError
    from django.db import DatabaseError

    try:
        django.setup()
        prepare()
    except (CommandError, DatabaseError, ImproperlyConfigured) as exc:
        print(f"Could not prepare the database, static files and demo content: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

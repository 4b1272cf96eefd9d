import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "restoration_site.settings")

app = Celery("restoration_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

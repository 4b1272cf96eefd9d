"""A job asset's file goes with its row, whether the row is deleted alone or with its job."""
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from jobs.models import JobAsset


@receiver(post_delete, sender=JobAsset)
def delete_asset_file(sender, instance: JobAsset, **kwargs):
    # After the commit: a rolled-back delete must find its file still there.
    if instance.file:
        storage, name = instance.file.storage, instance.file.name
        transaction.on_commit(lambda: storage.delete(name))

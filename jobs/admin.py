from django.contrib import admin

from jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "state", "kind", "created_at", "finished_at", "worker")
    list_filter = ("state", "kind")
    search_fields = ("id", "owner__username", "source_name")
    readonly_fields = ("progress", "source_info", "recipe", "error", "worker", "attempts", "heartbeat_at")

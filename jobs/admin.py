from django.contrib import admin

from jobs.models import Job, JobEvent, StageThroughput, UserQuota, WorkerNode


class JobEventInline(admin.TabularInline):
    model = JobEvent
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "kind", "worker", "message", "data")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "state", "kind", "queue", "priority", "created_at", "finished_at", "worker")
    list_filter = ("state", "kind", "queue")
    search_fields = ("id", "owner__username", "source_name")
    readonly_fields = ("progress", "source_info", "recipe", "error", "worker", "attempts", "heartbeat_at")
    inlines = [JobEventInline]


@admin.register(UserQuota)
class UserQuotaAdmin(admin.ModelAdmin):
    """Where staff give a partner collaboration priority: their jobs start before others' on the same queue."""
    list_display = ("user", "priority", "note")
    list_filter = ("priority",)
    search_fields = ("user__username", "note")
    autocomplete_fields = ("user",)


@admin.register(WorkerNode)
class WorkerNodeAdmin(admin.ModelAdmin):
    list_display = ("hostname", "queues", "has_gpu", "last_seen")
    readonly_fields = ("hostname", "queues", "has_gpu", "installed_models", "started_at", "last_seen")


@admin.register(StageThroughput)
class StageThroughputAdmin(admin.ModelAdmin):
    list_display = ("stages", "device", "fps", "mpx_per_second", "samples", "updated_at")

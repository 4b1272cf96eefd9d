from django.contrib import admin

from gallery.models import Item


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "date_text", "place", "created_at")
    list_filter = ("kind",)
    search_fields = ("title", "title_zh", "description", "place", "creator")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("media_info",)

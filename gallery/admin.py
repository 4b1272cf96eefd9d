"""Django admin for curators: items, partners, collections (ordered items), versions, moderation."""
from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminFileWidget
from django.utils.translation import gettext_lazy as _

from gallery import services
from gallery.models import Collection, CollectionItem, Comment, Item, Partner, Report, Version
from restoration_site.errors import ApplicationError
from restoration_site.uploads import inspect_media, spool_upload


class ItemAdminForm(forms.ModelForm):
    class Meta:
        model = Item
        exclude = ["web_media", "poster", "media_info"]
        # The labels of static/js/upload.js's progress bar (as in templates/gallery/_upload_labels.html).
        widgets = {"media": AdminFileWidget(attrs={
            "data-upload-sending": _("Uploading: {percent}%"),
            "data-upload-checking": _("Uploaded; checking the file…"),
            "data-upload-failed": _("The upload did not finish: check the connection and try again."),
        })}

    def clean_media(self):
        """Check a new file by decoding it, so a bad one is refused on the form."""
        upload = self.cleaned_data.get("media")
        if "media" in self.changed_data and upload:
            spooled = spool_upload(upload)
            try:
                inspect_media(spooled)
            except ApplicationError as exc:
                raise forms.ValidationError(exc.message) from None
            finally:
                spooled.unlink(missing_ok=True)
            upload.seek(0)
        return upload


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    form = ItemAdminForm
    list_display = ("title", "kind", "date_text", "place", "institution", "created_at")
    list_filter = ("kind", "date_precision")
    search_fields = ("title", "title_zh", "title_en", "description", "place", "creator", "tags")
    prepopulated_fields = {"slug": ("title",)}

    class Media:
        js = ["js/upload.js"]  # a progress bar for large scans and films

    def save_model(self, request, obj, form, change):
        if "media" in form.changed_data:
            # Stored like any upload: server-made name, images re-encoded, facts; a worker makes the poster
            # and any web copy.
            if not obj.uploader_id:
                obj.uploader = request.user
            services.item_save_with_media(item=obj, upload=form.cleaned_data["media"])
        else:
            super().save_model(request, obj, form, change)


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("name", "url")
    prepopulated_fields = {"slug": ("name",)}


class CollectionItemInline(admin.TabularInline):
    model = CollectionItem
    extra = 1
    autocomplete_fields = ["item"]


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ("title", "partner", "is_published", "created_at")
    list_filter = ("is_published", "partner")
    prepopulated_fields = {"slug": ("title",)}
    inlines = [CollectionItemInline]

    def save_model(self, request, obj, form, change):
        if not obj.curator_id:
            obj.curator = request.user
        super().save_model(request, obj, form, change)


@admin.register(Version)
class VersionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "item", "author", "is_homework", "featured", "ai_color", "is_hidden", "created_at")
    list_filter = ("is_homework", "featured", "ai_color", "is_hidden", "licence")
    search_fields = ("title", "item__title", "author__username")
    readonly_fields = ("recipe", "media_info", "job")


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("author", "item", "created_at", "is_hidden", "is_deleted")
    list_filter = ("is_hidden", "is_deleted")
    search_fields = ("body", "author__username")


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("reporter", "reason", "comment", "version", "created_at", "resolved_at", "resolution")
    list_filter = ("resolution",)
    actions = ["hide_reported", "dismiss"]

    @admin.action(description=_("Hide what was reported and close the reports"))
    def hide_reported(self, request, queryset):
        for report in queryset.filter(resolved_at=None):
            services.report_resolve(moderator=request.user, report=report, hide=True)

    @admin.action(description=_("Dismiss the reports"))
    def dismiss(self, request, queryset):
        for report in queryset.filter(resolved_at=None):
            services.report_resolve(moderator=request.user, report=report, hide=False)

from django import forms
from django.contrib import admin

from .models import Essay, EssayRevision


class EssayForm(forms.ModelForm):
    revision_note = forms.CharField(
        label="What this edit changes",
        max_length=500,
        required=False,
        help_text="For a published essay whose text you change: readers see it beside the earlier text, "
        "which is kept (with the comments written on it).",
    )

    class Meta:
        model = Essay
        fields = ["title", "slug", "author", "status", "published_at", "comments_open", "summary", "body"]


class RevisionInline(admin.TabularInline):
    model = EssayRevision
    fields = ["number", "shown_from", "replaced_at", "replaced_by", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Essay)
class EssayAdmin(admin.ModelAdmin):
    form = EssayForm
    list_display = ["title", "author", "status", "published_at", "comments_open", "text_version"]
    list_filter = ["status", "comments_open"]
    search_fields = ["title", "body"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "published_at"
    fields = [*EssayForm.Meta.fields, "revision_note"]
    inlines = [RevisionInline]

    def get_changeform_initial_data(self, request):
        return {"author": request.user.pk}

    def save_model(self, request, obj, form, change) -> None:
        # Essay.save keeps the text it replaces, saying who replaced it and why.
        obj.revised_by = request.user
        obj.revision_note = form.cleaned_data.get("revision_note", "")
        super().save_model(request, obj, form, change)

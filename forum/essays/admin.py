from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from forum.lib.errors import DiscussionError
from forum.lib.markup import figure_problems
from forum.lib.reader import reader
from forum.moderation.services import open_page_elsewhere

from . import images
from .models import Essay, EssayRevision, Figure, Tag


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
        fields = ["title", "slug", "author", "status", "published_at", "comments_open", "tags", "summary", "body"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.is_elsewhere:  # the discussion of a page elsewhere: its text is there, not here
            self.fields["body"].required = False


class FigureForm(forms.ModelForm):
    upload = forms.FileField(
        label="Picture",
        required=False,
        help_text="JPEG, PNG, GIF, WebP or TIFF, at most 20 MB. It is written anew for the web (its metadata, "
        "such as a camera's location, is not kept) at the widths readers' screens need. An SVG is not "
        "accepted: export it as PNG. Choose a file again to replace the picture.",
    )

    class Meta:
        model = Figure
        fields = ["label", "upload", "alt", "caption", "credit"]
        widgets = {"alt": forms.Textarea(attrs={"rows": 2}), "caption": forms.Textarea(attrs={"rows": 2})}

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if upload is None:
            if not self.instance.pk:
                raise forms.ValidationError("Choose the picture to upload.")
            return None
        if upload.size > images.MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {images.MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
        try:
            self.prepared = images.prepare(upload.read())
        except images.UnusableImage as unusable:
            raise forms.ValidationError(str(unusable)) from None
        return upload

    def save(self, commit=True):
        if prepared := getattr(self, "prepared", None):
            self.instance.keep(prepared)
        return super().save(commit)


class FigureFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        """The edited text (self.instance) places each figure once, on a line of its own, by the label
        of one the essay keeps."""
        super().clean()
        kept = {
            form.cleaned_data.get("label")
            for form in self.forms
            if getattr(form, "cleaned_data", None) and not form.cleaned_data.get("DELETE")
        }
        if problems := figure_problems(self.instance.body, kept - {None}):
            raise forms.ValidationError(problems)


class FigureInline(admin.StackedInline):
    model = Figure
    form = FigureForm
    formset = FigureFormSet
    extra = 1  # a blank figure form, left out if left blank: adding one needs no script
    fields = ["preview", "label", "upload", "alt", "caption", "credit"]
    readonly_fields = ["preview"]

    @admin.display(description="Shown")
    def preview(self, figure: Figure) -> str:
        if not figure.pk or not figure.renditions:
            return "(after saving)"
        return format_html(
            '<img src="{}" alt="" width="240"> {} × {} pixels; kept at {} widths',
            figure.picture.srcset[0][0],
            figure.width,
            figure.height,
            len(figure.renditions),
        )


class RevisionInline(admin.TabularInline):
    model = EssayRevision
    fields = ["number", "shown_from", "replaced_at", "replaced_by", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Essay)
class EssayAdmin(admin.ModelAdmin):
    form = EssayForm
    list_display = ["title", "author", "status", "published_at", "comments_open", "text_version", "host_url"]
    list_filter = ["status", "comments_open", ("host_origin", admin.EmptyFieldListFilter)]
    search_fields = ["title", "body", "host_url"]
    actions = ["open_pages_elsewhere"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "published_at"
    fields = [*EssayForm.Meta.fields, "revision_note"]
    inlines = [FigureInline, RevisionInline]
    filter_horizontal = ["tags"]

    def get_changeform_initial_data(self, request):
        return {"author": request.user.pk}

    def save_model(self, request, obj, form, change) -> None:
        # Essay.save keeps the text it replaces, saying who replaced it and why.
        obj.revised_by = request.user
        obj.revision_note = form.cleaned_data.get("revision_note", "")
        super().save_model(request, obj, form, change)

    @admin.action(description="Open the discussions of these pages elsewhere (a moderator accepts them)")
    def open_pages_elsewhere(self, request, queryset) -> None:
        """A page elsewhere whose check failed (forum/embed: `host_problem` says why) opens by hand."""
        opened = 0
        for essay in queryset.filter(status=Essay.Status.DRAFT).exclude(host_origin=""):
            try:
                open_page_elsewhere(reader(request), essay)
            except DiscussionError as error:
                self.message_user(request, f"{essay.host_url}: {error}", level=messages.ERROR)
            else:
                opened += 1
        self.message_user(request, f"{opened} discussion(s) of pages elsewhere opened.")

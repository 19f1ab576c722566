import uuid

from django import forms
from django.conf import settings


class DescribedForm(forms.Form):
    """Ties each input to its help text and error message for screen readers."""

    always_described = ("body",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._describe()

    def full_clean(self) -> None:
        super().full_clean()
        self._describe()

    def _describe(self) -> None:
        errors = self._errors or {}
        for name, field in self.fields.items():
            ids = []
            if field.help_text or name in self.always_described:
                ids.append(f"id_{name}-help")
            if name in errors:
                ids.append(f"id_{name}-error")
                field.widget.attrs["aria-invalid"] = "true"
            if ids:
                field.widget.attrs["aria-describedby"] = " ".join(ids)


class CommentForm(DescribedForm):
    """What a member types. Guests add their signature (GuestCommentForm)."""

    body = forms.CharField(
        label="Your comment",
        widget=forms.Textarea(attrs={"rows": 8}),
        strip=True,
        error_messages={"required": "Please write your comment before sending it."},
    )
    # A new key per form shown: sending the same form twice makes one comment.
    submission_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        limit = settings.FORUM_MAX_COMMENT_CHARS
        if len(body) > limit:
            raise forms.ValidationError(
                f"Your comment is {len(body):,} characters long; the limit is {limit:,}. "
                "Please shorten it (your text is kept below)."
            )
        return body


class EditCommentForm(CommentForm):
    submission_key = None


class GuestCommentForm(CommentForm):
    name = forms.CharField(label="Name", max_length=100, error_messages={"required": "Please give your name."})
    affiliation = forms.CharField(
        label="Affiliation", max_length=200, required=False, help_text="Optional, e.g. McGill University."
    )
    email = forms.EmailField(
        label="Email",
        help_text="Never shown. We send one link to it to publish your comment.",
        error_messages={"required": "Please give your email: we send a link to it to publish your comment."},
    )
    website = forms.URLField(
        label="Website", required=False, max_length=300, assume_scheme="https", help_text="Optional."
    )

    field_order = ["name", "affiliation", "email", "website", "body", "submission_key"]

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Please give your name.")
        return name

import time
import uuid
from datetime import date
from functools import lru_cache

from django import forms
from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.formats import date_format

from forum.lib.dates import DAY
from forum.lib.markup import PASSAGE_ID
from forum.lib.text import OneLineField
from forum.moderation.models import Flag

from .models import COMPETING_INTERESTS_MAX, Provenance


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
    competing_interests = OneLineField(
        label="Competing interests",
        max_length=COMPETING_INTERESTS_MAX,
        required=False,
        help_text="Funding, employment or ties that bear on what you write; shown under your name.",
    )
    # A new key per form shown: sending the same form twice makes one comment.
    submission_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
    # The passage of the essay the comment is on, if it was written from "Comment on this passage".
    quoted_passage = forms.RegexField(regex=PASSAGE_ID, widget=forms.HiddenInput, required=False, max_length=16)
    quoted_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if settings.FORUM_REQUIRE_COMPETING_INTERESTS:
            declared = self.fields["competing_interests"]
            declared.required = True
            declared.help_text += " This site asks every writer for one: write “None” if there are none."
            declared.error_messages["required"] = "Please state any competing interests, or write “None”."
            self._describe()

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
    submission_key = quoted_passage = quoted_version = None


FORM_SHOWN_SALT = "forum.discussion.form-shown-at"


def shown_now() -> str:
    return _signed_second(int(time.time()), settings.SECRET_KEY)


@lru_cache(maxsize=2)
def _signed_second(second: int, secret_key: str) -> str:
    # The same for every form shown in one second; signing costs a public page hit 0.04 ms.
    return signing.dumps(second, salt=FORM_SHOWN_SALT)


class PostCommentForm(CommentForm):
    """The public comment form, with two silent spam defences.

    A honeypot field that people never see (bots fill it in), and the time
    the form was shown, signed: a form sent back within a few seconds was not
    written by a person. Neither limits how long someone may take to write.
    """

    homepage_url = forms.CharField(
        label="Leave this field empty",
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )
    shown_at = forms.CharField(widget=forms.HiddenInput, initial=shown_now, required=False)

    display_fields = ("body", "competing_interests")

    def clean(self) -> dict:
        data = super().clean()
        if data.get("homepage_url"):
            raise forms.ValidationError(
                "Please leave the field “Leave this field empty” empty, then send your comment again.", code="honeypot"
            )
        try:
            shown = signing.loads(data.get("shown_at") or "", salt=FORM_SHOWN_SALT)
        except signing.BadSignature:
            shown = None  # missing or forged: this form was not shown by us
        if not isinstance(shown, int) or time.time() - shown < settings.FORUM_MIN_SECONDS_TO_POST:
            # The form comes back with a fresh time, so sending it again works.
            self.data = self.data.copy()
            self.data[self.add_prefix("shown_at")] = shown_now()
            raise forms.ValidationError(
                "That was faster than we expect a person to write. Please check your comment and send it again.",
                code="too_fast",
            )
        return data


class GuestCommentForm(PostCommentForm):
    name = OneLineField(label="Name", max_length=100, error_messages={"required": "Please give your name."})
    affiliation = OneLineField(label="Affiliation", max_length=200, required=False, help_text="E.g. McGill University.")
    email = forms.EmailField(
        label="Email",
        help_text="Never shown. We send one link to it to publish your comment.",
        error_messages={"required": "Please give your email: we send a link to it to publish your comment."},
    )
    website = forms.URLField(label="Website", required=False, max_length=300, assume_scheme="https")

    notify_replies = forms.BooleanField(label="Email me when someone replies", required=False)

    field_order = [
        "name", "affiliation", "email", "website", "body", "competing_interests", "notify_replies", "submission_key"
    ]  # fmt: skip
    display_fields = ("name", "affiliation", "email", "website", "body", "competing_interests", "notify_replies")


class ProxyCommentForm(CommentForm):
    """A comment that reached a member from someone else, with how it arrived."""

    quoted_passage = quoted_version = None

    person_name = OneLineField(
        label="Their name", max_length=100, error_messages={"required": "Please give the name of the person."}
    )
    person_affiliation = OneLineField(label="Their affiliation", max_length=200, required=False)
    person_email = forms.EmailField(
        label="Their email",
        required=False,
        help_text="Strongly encouraged, never shown: we send them a link to confirm, correct or withdraw "
        "the comment, and it becomes theirs if they join.",
    )
    received_via = forms.ChoiceField(
        label="How the text reached you", choices=Provenance.Channel.choices, initial=Provenance.Channel.EMAIL
    )
    received_on = forms.DateField(
        label="When it reached you",
        # A date input only shows ISO dates, whatever the site's locale.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        initial=date.today,
        error_messages={"required": "Please give the date it reached you.", "invalid": "Please give a real date."},
    )
    original_message = forms.CharField(
        label="The original message",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Moderators only: paste the message as you received it, so they can compare.",
    )
    note_to_moderators = forms.CharField(
        label="Note to the moderators", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    field_order = [
        "person_name",
        "person_affiliation",
        "person_email",
        "received_via",
        "received_on",
        "body",
        "competing_interests",
        "original_message",
        "note_to_moderators",
        "submission_key",
    ]

    def __init__(self, *args, essay, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].label = "Their comment, as it will be published"
        declared = self.fields["competing_interests"]
        declared.label = "Their competing interests"
        declared.help_text = "As they stated them: funding, employment or ties that bear on what they write."
        if declared.required:
            declared.help_text += " This site asks every writer for one: write “None” if they have none."
        # A comment on the essay reached the submitter after it was published, and not after today.
        self.earliest = timezone.localdate(essay.published_at)
        received = self.fields["received_on"]
        received.widget.attrs.update(min=self.earliest.isoformat(), max=timezone.localdate().isoformat())
        received.help_text = f"Between {date_format(self.earliest, DAY)} (when the essay was published) and today."

    def clean_received_on(self) -> date:
        received = self.cleaned_data["received_on"]
        if received > timezone.localdate():
            raise forms.ValidationError("That date is in the future: it can be today at the latest.")
        if received < self.earliest:
            raise forms.ValidationError(
                f"The essay was published on {date_format(self.earliest, DAY)}: "
                "a comment on it cannot have reached you before that."
            )
        return received

    def clean_original_message(self) -> str:
        text = self.cleaned_data["original_message"]
        if len(text) > 2 * settings.FORUM_MAX_COMMENT_CHARS:
            raise forms.ValidationError("The original message is too long to keep here; paste the relevant part.")
        return text


class CorrectionForm(CommentForm):
    submission_key = None
    note = forms.CharField(
        label="A note to the moderators", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].label = "Your corrected text"


class FlagForm(DescribedForm):
    reason = forms.ChoiceField(
        label="What is wrong with it?",
        choices=Flag.Reason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Please say what is wrong with it."},
    )
    note = forms.CharField(
        label="Anything the moderators should know",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

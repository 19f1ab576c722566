from django import forms
from django.utils.text import slugify

from forum.lib.orcid import normalise_orcid
from forum.lib.text import OneLineField

from .models import HANDLE_MAX, User, validate_orcid

NAME_REQUIRED = "Please give the name you sign your comments with."


class SignupForm(forms.Form):
    """Extra fields on allauth's sign-up form: how the member signs comments."""

    display_name = OneLineField(
        label="Name",
        max_length=100,
        help_text="As it appears under your comments, e.g. T.V. Paul.",
        error_messages={"required": NAME_REQUIRED},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    affiliation = OneLineField(
        label="Affiliation",
        max_length=200,
        required=False,
        help_text="Shown beside your name, e.g. McGill University.",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )

    field_order = ["email", "display_name", "affiliation", "password1", "password2"]

    def signup(self, request, user: User) -> None:
        user.display_name = self.cleaned_data["display_name"]
        user.affiliation = self.cleaned_data["affiliation"].strip()
        user.save(update_fields=["display_name", "affiliation"])


class ProfileForm(forms.ModelForm):
    # Wider than the stored value: people paste the full https://orcid.org/… address.
    orcid = forms.CharField(
        label="ORCID iD",
        max_length=64,
        required=False,
        help_text=(
            "E.g. 0000-0002-1825-0097 or https://orcid.org/0000-0002-1825-0097. Typed here, it is not "
            "verified: anyone can type an iD. Verify it by signing in with ORCID (below), and it is shown "
            "with your name."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    class Meta:
        model = User
        fields = [
            "display_name",
            "affiliation",
            "orcid",
            "profile_public",
            "handle",
            "notify_replies",
            "moderation_mail",
        ]
        labels = {"display_name": "Name", "handle": "Address of your page"}
        field_classes = {"display_name": OneLineField, "affiliation": OneLineField}
        help_texts = {
            "display_name": "As it appears under your comments.",
            "affiliation": "Shown beside your name on comments you post from now on.",
            "profile_public": "At /people/<address>/: your name, affiliation, ORCID iD and published comments, "
            "with a feed. Your name on your comments links to it.",
            "handle": "Lower-case letters, digits and hyphens, e.g. tv-paul.",
        }
        widgets = {
            "display_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "affiliation": forms.TextInput(attrs={"autocomplete": "organization"}),
        }

    def __init__(self, *args, moderates: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not moderates:
            del self.fields["moderation_mail"]
        if self.instance.orcid_verified:  # proven by ORCID: changed only by disconnecting it
            del self.fields["orcid"]
        if not self.instance.handle:
            self.initial["handle"] = suggested_handle(self.instance)
        # Optional in the database (accounts made in the admin), required here.
        self.fields["display_name"].required = True
        self.fields["display_name"].error_messages["required"] = NAME_REQUIRED

    def clean_display_name(self) -> str:
        if not self.cleaned_data["display_name"]:
            raise forms.ValidationError(NAME_REQUIRED)
        return self.cleaned_data["display_name"]

    def clean_handle(self) -> str | None:
        handle = (self.cleaned_data.get("handle") or "").strip().lower() or None
        if handle and User.objects.filter(handle=handle).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another member has this address. Choose another.")
        return handle

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("profile_public") and not cleaned.get("handle") and "handle" not in self.errors:
            self.add_error("handle", "Choose the address of your page to show it.")
        return cleaned

    def clean_orcid(self) -> str:
        value = self.cleaned_data["orcid"]
        if not value:
            return ""
        validate_orcid(value)
        orcid = normalise_orcid(value)
        if User.objects.filter(orcid=orcid, orcid_verified=True).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(
                "Another member has verified this iD by signing in with ORCID. If it is yours, sign in "
                "with ORCID and tell the moderators."
            )
        return orcid


def suggested_handle(member: User) -> str:
    """An address for a member's page made of their name, not yet taken: "tv-paul", "tv-paul-2"."""
    base = slugify(member.signature_name)[:HANDLE_MAX].strip("-")  # "Zoë Ölçer" gives "zoe-olcer"
    if len(base) < 3:
        return ""
    taken = set(User.objects.filter(handle__startswith=base).values_list("handle", flat=True))
    number, handle = 1, base
    while handle in taken:
        number += 1
        handle = f"{base[: HANDLE_MAX - len(str(number)) - 1]}-{number}"
    return handle

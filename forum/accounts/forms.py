from django import forms

from forum.lib.orcid import normalise_orcid
from forum.lib.text import OneLineField

from .models import User, validate_orcid

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
        fields = ["display_name", "affiliation", "orcid", "notify_replies", "moderation_mail"]
        labels = {"display_name": "Name"}
        field_classes = {"display_name": OneLineField, "affiliation": OneLineField}
        help_texts = {
            "display_name": "As it appears under your comments.",
            "affiliation": "Shown beside your name on comments you post from now on.",
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
        # Optional in the database (accounts made in the admin), required here.
        self.fields["display_name"].required = True
        self.fields["display_name"].error_messages["required"] = NAME_REQUIRED

    def clean_display_name(self) -> str:
        if not self.cleaned_data["display_name"]:
            raise forms.ValidationError(NAME_REQUIRED)
        return self.cleaned_data["display_name"]

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

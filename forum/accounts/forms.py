from django import forms

from forum.lib.orcid import normalise_orcid

from .models import User


class SignupForm(forms.Form):
    """Extra fields on allauth's sign-up form: how the member signs comments."""

    display_name = forms.CharField(
        label="Name", max_length=100, help_text="As it appears under your comments, e.g. T.V. Paul."
    )
    affiliation = forms.CharField(
        label="Affiliation", max_length=200, required=False, help_text="Optional, e.g. McGill University."
    )

    field_order = ["email", "display_name", "affiliation", "password1", "password2"]

    def signup(self, request, user: User) -> None:
        user.display_name = self.cleaned_data["display_name"].strip()
        user.affiliation = self.cleaned_data["affiliation"].strip()
        user.save(update_fields=["display_name", "affiliation"])


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["display_name", "affiliation", "orcid"]
        labels = {"display_name": "Name"}
        help_texts = {
            "display_name": "As it appears under your comments.",
            "affiliation": "Optional. Shown beside your name on comments you post from now on.",
            "orcid": "Optional, e.g. 0000-0002-1825-0097.",
        }

    def clean_display_name(self) -> str:
        name = " ".join(self.cleaned_data["display_name"].split())
        if not name:
            raise forms.ValidationError("Please give the name you sign your comments with.")
        return name

    def clean_orcid(self) -> str:
        value = self.cleaned_data["orcid"]
        return normalise_orcid(value) or value if value else ""

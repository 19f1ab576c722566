from django import forms


class AddressForm(forms.Form):
    email = forms.EmailField(
        label="Your email address",
        help_text="The address you gave with your comments. We mail it a link that shows what we hold for it.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class EraseForm(forms.Form):
    texts = forms.ChoiceField(
        label="Your comments",
        choices=[
            ("keep", "Keep their texts, signed “A former participant”"),
            ("remove", "Remove their texts too: each leaves a note, and replies to it keep their place"),
        ],
        widget=forms.RadioSelect,
        initial="keep",
    )
    understood = forms.BooleanField(
        label="I understand that this cannot be undone",
        error_messages={"required": "Tick this to show you understand that erasure cannot be undone."},
    )

from django import forms


class AddressForm(forms.Form):
    email = forms.EmailField(
        label="Your email address",
        help_text="The address you gave with your comments. We mail it a link that shows what we hold for it.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

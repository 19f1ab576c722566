from django import forms

from .index import Order
from .query import MAX_LENGTH


class WordsForm(forms.Form):
    """What to look for and in what order. Sent by GET: a search is a link, and the words come back with
    the results (or with the error, if they are too long)."""

    q = forms.CharField(
        label="Search for",
        required=False,
        max_length=MAX_LENGTH,
        widget=forms.TextInput(attrs={"type": "search", "aria-describedby": "search-help"}),
    )
    order = forms.ChoiceField(
        label="Order",
        required=False,
        choices=[(Order.RELEVANCE, "Best match first"), (Order.NEWEST, "Newest first")],
    )

    @property
    def order_chosen(self) -> Order:
        return Order(self.cleaned_data.get("order") or Order.RELEVANCE)


class SearchForm(WordsForm):
    """A reader's search of the essays and their published comments."""

    kind = forms.ChoiceField(
        label="Look in",
        required=False,
        choices=[("", "Essays and comments"), ("essays", "Essays"), ("comments", "Comments")],
    )

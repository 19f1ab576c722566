from datetime import timedelta

from django import forms
from django.utils import timezone

from forum.discussion.forms import DescribedForm
from forum.discussion.models import Comment
from forum.discussion.states import NEEDS_REASON, Decision
from forum.search.forms import WordsForm

from .models import Policy

BAN_LENGTHS = {
    "day": ("For a day", timedelta(days=1)),
    "week": ("For a week", timedelta(weeks=1)),
    "month": ("For a month", timedelta(days=30)),
    "year": ("For a year", timedelta(days=365)),
    "ever": ("For good", None),
}


class DecisionForm(DescribedForm):
    decision = forms.ChoiceField(label="Action", choices=Decision.choices)
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The writer or submitter sees it.",
    )
    # Required for some decisions only: the label says which, instead of "(optional)".
    reason.needed_for = "to reject or remove"

    def clean_decision(self) -> Decision:
        return Decision(self.cleaned_data["decision"])

    def clean(self) -> dict:
        data = super().clean()
        if data.get("decision") in NEEDS_REASON and not (data.get("reason") or "").strip():
            self.add_error("reason", "Please give a reason: the writer or submitter will see it.")
        return data


class BanForm(DescribedForm):
    target = forms.EmailField(label="Member’s or guest’s email")
    length = forms.ChoiceField(
        label="How long", choices=[(key, label) for key, (label, _) in BAN_LENGTHS.items()], initial="month"
    )
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Please give a reason for the ban; it is shown to them when they try to comment."},
    )

    def __init__(self, *args, with_target: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not with_target:
            del self.fields["target"]

    def clean(self) -> dict:
        data = super().clean()
        length = BAN_LENGTHS.get(data.get("length", ""), (None, None))[1]
        data["until"] = timezone.now() + length if length else None
        return data


class DeskSearchForm(WordsForm):
    """A moderator's search of every comment on the desk, in every state or one."""

    status = forms.ChoiceField(label="State", required=False, choices=[("", "Every state"), *Comment.Status.choices])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].label = "Search comments for"


class PolicyForm(forms.ModelForm):
    class Meta:
        model = Policy
        fields = [
            "premoderation",
            "max_links",
            "blocked_words",
            "words_action",
            "blocked_domains",
            "domains_action",
            "blocked_networks",
            "networks_action",
            "close_after_days",
        ]
        widgets = {
            "premoderation": forms.RadioSelect,
            "blocked_words": forms.Textarea(attrs={"rows": 4}),
            "blocked_domains": forms.Textarea(attrs={"rows": 3}),
            "blocked_networks": forms.Textarea(attrs={"rows": 3}),
        }

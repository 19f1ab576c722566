import re

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.urls import reverse

from forum import pagecache
from forum.lib.orcid import normalise_orcid
from forum.search.index import keep_essays

# What pages show of a member: the name on their essays and on comments they posted for others.
SHOWN_FIELDS = frozenset({"display_name", "first_name", "last_name"})
# What their own comments show of them: their signature links to their public page.
PAGE_FIELDS = frozenset({"handle", "profile_public"})
HANDLE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
HANDLE_MAX = 40


def validate_handle(value: str) -> None:
    if not (3 <= len(value) <= HANDLE_MAX and HANDLE.fullmatch(value)):
        raise ValidationError(
            f"Use 3 to {HANDLE_MAX} lower-case letters or digits, words joined by single hyphens: e.g. tv-paul."
        )


def validate_orcid(value: str) -> None:
    if value and normalise_orcid(value) is None:
        raise ValidationError(
            "This is not a valid ORCID iD: it should look like 0000-0002-1825-0097 "
            "and its last character is a checksum."
        )


class User(AbstractUser):
    """A member. Signs comments with display name and affiliation."""

    class ModerationMail(models.TextChoices):
        IMMEDIATELY = "immediately", "An email for each new item"
        DAILY = "daily", "One digest a day"
        NEVER = "never", "No email"

    display_name = models.CharField(max_length=100, blank=True)
    affiliation = models.CharField(max_length=200, blank=True)
    orcid = models.CharField("ORCID iD", max_length=19, blank=True, validators=[validate_orcid])
    # Whether `orcid` is proven: the member signed in with that ORCID record (allauth's SocialAccount,
    # forum/accounts/orcid.py), and the name the record holds. A typed iD is not.
    orcid_verified = models.BooleanField("ORCID iD verified", default=False, editable=False)
    orcid_name = models.CharField("name on ORCID", max_length=200, blank=True, editable=False)
    # Their public page, /people/<handle>/, if they want one (profile_public): chosen by them, unique.
    handle = models.CharField(max_length=HANDLE_MAX, unique=True, null=True, blank=True, validators=[validate_handle])
    profile_public = models.BooleanField("Show a public page about me", default=False)
    notify_replies = models.BooleanField("Email me replies to my comments", default=True)
    # For moderators: how to hear about comments waiting for them.
    moderation_mail = models.CharField(
        "Email about the moderation queue",
        max_length=12,
        choices=ModerationMail.choices,
        default=ModerationMail.IMMEDIATELY,
    )

    def save(self, *args, **kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        with transaction.atomic():  # the name and the pages that show it change together
            super().save(*args, **kwargs)
            if update_fields is None or SHOWN_FIELDS & set(update_fields):
                pagecache.person_changed(self.pk)
                keep_essays(self.essays.all())  # found by their author's name
            if update_fields is None or PAGE_FIELDS & set(update_fields):  # their signatures' link
                pagecache.comments_changed(self.comments.values_list("pk", flat=True))

    def show_orcid(self, orcid: str, name: str) -> None:
        """The member proved this iD (they signed in with its ORCID record): shown as verified, on
        their comments too. A typed iD it replaces is forgotten."""
        with transaction.atomic():
            self.orcid, self.orcid_verified, self.orcid_name = orcid, True, name
            self.save(update_fields=["orcid", "orcid_verified", "orcid_name"])
            self._sign_comments(orcid)

    def forget_orcid_proof(self) -> None:
        """The ORCID record is no longer connected: the iD stays as if typed, and is not verified."""
        with transaction.atomic():
            self.orcid_verified, self.orcid_name = False, ""
            self.save(update_fields=["orcid_verified", "orcid_name"])
            self._sign_comments("")

    def _sign_comments(self, orcid: str) -> None:
        """Signatures show the writer's verified iD: every comment they wrote, whenever written."""
        ids = list(self.comments.exclude(author_orcid=orcid).values_list("pk", flat=True))
        self.comments.filter(pk__in=ids).update(author_orcid=orcid)
        pagecache.comments_changed(ids)

    @property
    def public_page(self) -> str:
        """The address of their public page, or "" if they have none."""
        return reverse("people:person", kwargs={"handle": self.handle}) if self.profile_public and self.handle else ""

    @property
    def verified_orcid(self) -> str:
        return self.orcid if self.orcid_verified else ""

    @property
    def signature_name(self) -> str:
        return self.display_name or self.get_full_name() or ""

    @property
    def public_name(self) -> str:
        """What readers see: never the email address, even without a display name."""
        return self.signature_name or "A member"

    def __str__(self) -> str:
        return self.signature_name or self.email or self.username

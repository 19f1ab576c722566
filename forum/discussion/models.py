import hashlib

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from forum.essays.models import Essay
from forum.lib.markup import portable, render_comment, stored_html, text_from_html

from . import tree


def normalised(body: str) -> str:
    """The words of a text, whatever their case and spacing: what duplicates and listed words are found in."""
    return " ".join(body.lower().split())


def fingerprint(body: str) -> str:
    """The same words, whatever the case and spacing, give the same fingerprint."""
    return hashlib.sha256(normalised(body).encode()).hexdigest()


COMPETING_INTERESTS_MAX = 300


class CommentQuerySet(models.QuerySet):
    def published(self) -> "CommentQuerySet":
        return self.filter(status=Comment.Status.PUBLISHED)

    def public_by(self, member) -> "CommentQuerySet":
        """A member's published comments on the essays readers are shown, newest first (their page)."""
        shown = self.published().filter(author=member, essay__in=Essay.objects.listed())
        return shown.select_related("essay").order_by(Coalesce("published_at", "created_at").desc(), "-pk")

    def in_thread(self, essay: Essay) -> "CommentQuerySet":
        """Everything that may appear on the essay page, in display order.

        Comments still waiting (for an email confirmation or a moderator)
        cannot have replies, so they are never needed to keep the shape.
        """
        return self.filter(essay=essay).exclude(status__in=Comment.WAITING).whole().order_by("path")

    def whole(self) -> "CommentQuerySet":
        """With what a comment's rendering shows of its provenance (who posted it for whom, a mail)."""
        return self.select_related("provenance__submitter", "received_mail", "author")


class Comment(models.Model):
    class Status(models.TextChoices):
        AWAITING_CONFIRMATION = "awaiting", "Awaiting email confirmation"
        PENDING = "pending", "Awaiting moderation"
        PUBLISHED = "published", "Published"
        REJECTED = "rejected", "Rejected"
        SPAM = "spam", "Spam"
        REMOVED = "removed", "Removed by a moderator"
        DELETED = "deleted", "Deleted by its author"
        WITHDRAWN = "withdrawn", "Withdrawn"
        ERASED = "erased", "Erased at its writer's request"

    WAITING = (Status.AWAITING_CONFIRMATION, Status.PENDING)
    # What a discussion shows in place of a comment it no longer shows but whose replies it does (a
    # tombstone), by status; any other status: REMOVED_NOTE. Our own sentences, no one's text: safe.
    TOMBSTONE_NOTES = {
        Status.DELETED: mark_safe("This comment was deleted by its author."),
        Status.WITHDRAWN: mark_safe("This comment was withdrawn at the request of the person it was attributed to."),
        Status.ERASED: mark_safe("This comment was erased at its writer's request."),
    }
    REMOVED_NOTE = mark_safe("This comment was removed by a moderator.")

    essay = models.ForeignKey(Essay, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="replies")
    # Materialised path (see tree.py); written right after the row gets its id.
    path = models.CharField(max_length=255, editable=False, db_index=False)

    # The signature as the writer gave it when posting. Members' come from
    # their profile; a later change of affiliation does not rewrite history.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    author_name = models.CharField(max_length=100)
    author_affiliation = models.CharField(max_length=200, blank=True)
    author_website = models.URLField(max_length=300, blank=True)
    # The writer's ORCID iD, when they proved it by signing in with ORCID (User.show_orcid): shown
    # with the signature; kept in step with the member's proof, whenever the comment was written.
    author_orcid = models.CharField(max_length=19, blank=True)
    # What the writer declares of their relation to the subject (funding, employment, ties), shown
    # under the signature; "" if they declared nothing.
    competing_interests = models.CharField(max_length=COMPETING_INTERESTS_MAX, blank=True)
    # The revision of the essay's text it was written on (Essay.text_version, when it was saved).
    essay_version = models.PositiveIntegerField(default=1)
    # The passage of the essay it comments on (its anchor, forum.lib.markup.PASSAGE_ID), and the
    # revision of the text it was quoted from; "" and None for a comment on the whole essay.
    quoted_passage = models.CharField(max_length=16, blank=True)
    quoted_version = models.PositiveIntegerField(null=True, blank=True)
    # Guests only; never shown to readers.
    author_email = models.EmailField(blank=True)

    body = models.TextField()
    body_html = models.TextField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PUBLISHED)

    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    # Why moderation held it (policy, flags), shown on the desk.
    held_reasons = models.CharField(max_length=500, blank=True)
    # Distinct readers who flagged it (kept here so the desk needs no count query).
    flag_count = models.PositiveIntegerField(default=0)
    # SHA-256 of the normalised text: exact duplicates are found by one indexed lookup.
    body_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)

    # Guests tick "email me replies"; members choose on their profile.
    notify_replies = models.BooleanField(default=False)
    # Changes whenever what readers see of this comment changes (forum/pagecache.py):
    # a rendering of the comment can be kept under it.
    version = models.PositiveIntegerField(default=0, editable=False)
    # When readers were told about it (once, however often it is republished).
    announced_at = models.DateTimeField(null=True, blank=True, editable=False)

    # One comment per form, however often it is sent (double clicks, reloads).
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    # Makes a guest's confirmation link single-use: cleared once it is used.
    confirmation_nonce = models.CharField(max_length=32, blank=True, editable=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        permissions = [("moderate_comment", "Can moderate comments on every essay")]
        indexes = [
            models.Index(fields=["essay", "path"], name="comment_thread_order"),
            models.Index(fields=["essay", "status"], name="comment_essay_status"),
            models.Index(fields=["status", "-created_at"], name="comment_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} by {self.author_name}"

    def get_absolute_url(self) -> str:
        return reverse("discussion:permalink", kwargs={"pk": self.pk})

    def set_text(self, body: str) -> None:
        """The Markdown source, its sanitised HTML and its fingerprint, together."""
        self.body = body
        self.body_html = render_comment(body)
        self.body_hash = fingerprint(body)

    @property
    def reference(self) -> str:
        """What we call the comment in receipts and mails."""
        return f"C{self.pk}"

    @property
    def anchor(self) -> str:
        return f"c{self.pk}"

    @property
    def depth(self) -> int:
        return tree.depth_of(self.path)

    @property
    def html(self):
        return stored_html(self.body_html)

    @property
    def portable_html(self):
        """The HTML as feeds and mails carry it (forum.lib.markup.portable)."""
        return portable(self.body_html)

    @property
    def excerpt(self) -> str:
        """Its first words as plain text (formulas as TeX), for lists of comments."""
        return Truncator(" ".join(text_from_html(self.portable_html).split())).chars(280)

    @property
    def dated(self):
        """The date a comment is known by (feeds, citations): its publication, else its writing."""
        return self.published_at or self.created_at

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def tombstone_note(self) -> str:
        """What the discussion says in its place, when it shows it as a tombstone."""
        return self.TOMBSTONE_NOTES.get(self.status, self.REMOVED_NOTE)

    @property
    def is_guest(self) -> bool:
        return self.author_id is None and self.proxy is None

    @property
    def proxy(self) -> "Provenance | None":
        """How a comment posted on someone's behalf reached us; None for the rest."""
        try:
            return self.provenance
        except Provenance.DoesNotExist:
            return None

    def get_thread_url(self) -> str:
        return f"{self.essay.get_absolute_url()}#{self.anchor}"

    @property
    def thread_link(self) -> str:
        """Its place in the discussion as mails link it: on the page elsewhere for an embedded
        discussion (the embed shows that comment: forum/embed), else here."""
        if self.essay.is_elsewhere:
            return f"{self.essay.host_url.split('#')[0]}#forum-{self.anchor}"
        return settings.SITE_URL + self.get_thread_url()


class Revision(models.Model):
    """A text a comment once had, kept when an edit or a correction replaced it."""

    class Kind(models.TextChoices):
        EDIT = "edit", "Edited by its author"
        CORRECTION = "correction", "Corrected by the person it is attributed to"

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    body_html = models.TextField()
    competing_interests = models.CharField(max_length=COMPETING_INTERESTS_MAX, blank=True)
    replaced_at = models.DateTimeField(default=timezone.now)
    replaced_by = models.CharField(max_length=12, choices=Kind.choices)

    class Meta:
        ordering = ["replaced_at", "pk"]

    def __str__(self) -> str:
        return f"{self.comment.reference} before {self.replaced_at:%Y-%m-%d %H:%M}"

    @property
    def html(self):
        return stored_html(self.body_html)


class Provenance(models.Model):
    """A comment a member posted on someone else's behalf, and what became of it."""

    class Channel(models.TextChoices):
        EMAIL = "email", "by email"
        LETTER = "letter", "by letter"
        PHONE = "phone", "by phone"
        IN_PERSON = "in_person", "in person"
        OTHER = "other", "another way"

    class Confirmation(models.TextChoices):
        UNCONFIRMED = "unconfirmed", "Not yet confirmed"
        CONFIRMED = "confirmed", "Confirmed"
        CORRECTED = "corrected", "Confirmed with a correction"
        DISAVOWED = "disavowed", "Disavowed"

    comment = models.OneToOneField(Comment, on_delete=models.CASCADE, primary_key=True, related_name="provenance")
    submitter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proxy_submissions")
    # The person's address: for the confirmation link and for claiming. Never shown.
    person_email = models.EmailField(blank=True)
    received_via = models.CharField(max_length=10, choices=Channel.choices)
    received_on = models.DateField()
    # Moderators only: the message as it arrived, to compare with the text.
    original_message = models.TextField(blank=True)
    note_to_moderators = models.TextField(blank=True)

    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    self_approved = models.BooleanField(default=False)
    rejection_reason = models.TextField(blank=True)

    confirmation = models.CharField(max_length=12, choices=Confirmation.choices, default=Confirmation.UNCONFIRMED)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The person's link: signed with this nonce, readable for 30 days, acts once.
    link_nonce = models.CharField(max_length=32, blank=True, editable=False)
    link_used_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["person_email"], name="provenance_person_email")]

    def __str__(self) -> str:
        return f"{self.comment.reference} on behalf of {self.comment.author_name}"


class Correction(models.Model):
    """New text proposed by the person a proxy post is attributed to; a moderator decides."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting a moderator"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="corrections")
    body = models.TextField()
    body_html = models.TextField()
    note = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-proposed_at"]

    def __str__(self) -> str:
        return f"Correction of {self.comment.reference} ({self.get_status_display()})"

    @property
    def html(self):
        return stored_html(self.body_html)


class ReceivedMail(models.Model):
    """A comment that arrived by email (manage.py receive_email), as it arrived."""

    comment = models.OneToOneField(Comment, on_delete=models.CASCADE, primary_key=True, related_name="received_mail")
    # The Message-ID: the same message delivered twice makes one comment.
    message_id = models.CharField(max_length=300, unique=True)
    sender = models.EmailField()
    subject = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    # For moderators: the text before quotes and signatures were cut, and what was left out.
    original = models.TextField(blank=True)
    attachments = models.TextField(blank=True, help_text="Attachments that were ignored, one per line.")
    # The sender follows the emailed link to say the message was theirs (From can be forged).
    sender_confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.comment.reference} from {self.sender}"


class ReplyAddress(models.Model):
    """The Reply-To of one notification, mailed to one recipient: answering it replies to `comment`.

    The token is random and kept here, so a reply from the address it was
    mailed to is known to come from that recipient (a From header alone
    proves nothing; this is as strong as the recipient's mailbox).
    """

    token = models.CharField(max_length=24, unique=True)
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="+")
    recipient = models.EmailField()
    created_at = models.DateTimeField(default=timezone.now)
    # It proves its recipient once, within FORUM_REPLY_ADDRESS_MAX_AGE: an address copied
    # from the To of an answer (a Cc, an archive) proves nothing later.
    proved_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Reply address for {self.recipient} to {self.comment.reference}"


class Subscription(models.Model):
    """Someone following an essay's discussion: new comments are mailed to them."""

    essay = models.ForeignKey(Essay, on_delete=models.CASCADE, related_name="subscriptions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    email = models.EmailField(blank=True)  # guests
    # Guests confirm by email before anything is sent to them.
    confirmed = models.BooleanField(default=False)
    nonce = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["essay", "user"], name="one_follow_per_member"),
            models.UniqueConstraint(
                fields=["essay", "email"], condition=~models.Q(email=""), name="one_follow_per_email"
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(email=""), name="follow_has_follower"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.email} follows {self.essay}"

    @property
    def address(self) -> str:
        return self.user.email if self.user_id else self.email

"""What moderators set and keep: the site's policy, bans, readers' flags, counts."""

import hashlib
import ipaddress
import secrets
import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils import timezone

from forum import pagecache
from forum.audit.log import subject_key


def _lines(text: str) -> list[str]:
    return [line.strip().lower() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def validate_networks(text: str) -> None:
    for line in _lines(text):
        try:
            ipaddress.ip_network(line, strict=False)
        except ValueError:
            raise ValidationError(f"“{line}” is not an IP address or range (e.g. 203.0.113.0/24).") from None


class Policy(models.Model):
    """The site's moderation policy: one row, edited on the desk."""

    class Premoderation(models.TextChoices):
        NOTHING = "none", "Publish at once (guests still confirm their email)"
        FIRST = "first", "Hold the first comment of each new commenter"
        EVERYTHING = "all", "Hold every comment for a moderator"

    class Action(models.TextChoices):
        HOLD = "hold", "Hold for a moderator"
        REJECT = "reject", "Refuse the comment"

    premoderation = models.CharField(max_length=5, choices=Premoderation.choices, default=Premoderation.NOTHING)
    max_links = models.PositiveIntegerField(
        default=3, help_text="Hold comments with more links than this. 0 holds every comment with a link."
    )
    blocked_words = models.TextField(blank=True, help_text="One word or phrase per line; case does not matter.")
    words_action = models.CharField(max_length=6, choices=Action.choices, default=Action.HOLD)
    blocked_domains = models.TextField(blank=True, help_text="Email domains, one per line, e.g. spam.example.")
    domains_action = models.CharField(max_length=6, choices=Action.choices, default=Action.REJECT)
    blocked_networks = models.TextField(
        blank=True,
        validators=[validate_networks],
        help_text="IP addresses or ranges, one per line, e.g. 203.0.113.0/24.",
    )
    networks_action = models.CharField(max_length=6, choices=Action.choices, default=Action.REJECT)
    close_after_days = models.PositiveIntegerField(
        default=0, help_text="Close an essay's discussion this many days after publication. 0 keeps it open."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "policy"

    def __str__(self) -> str:
        return "Moderation policy"

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)
        Policy.forget()
        pagecache.everything_changed()  # what may be posted, and when discussions close

    CACHE_KEY = "moderation:policy:v1"
    # Rules ask for the policy once per comment on a page: keep it in this
    # process for a few seconds, and in the shared cache until it changes.
    _local: tuple[float, "Policy"] | None = None
    LOCAL_SECONDS = 5.0

    @classmethod
    def current(cls) -> "Policy":
        now = time.monotonic()
        if cls._local is not None and now - cls._local[0] < cls.LOCAL_SECONDS:
            return cls._local[1]
        policy = cache.get(cls.CACHE_KEY)
        if policy is None:
            # Reading never writes: until a moderator saves one, the defaults apply.
            policy = cls.objects.filter(pk=1).first() or cls(pk=1)
            cache.set(cls.CACHE_KEY, policy, timeout=None)
        cls._local = (now, policy)
        return policy

    @classmethod
    def forget(cls) -> None:
        cls._local = None
        cache.delete(cls.CACHE_KEY)

    @property
    def words(self) -> list[str]:
        return _lines(self.blocked_words)

    @property
    def domains(self) -> list[str]:
        return [domain.lstrip("@") for domain in _lines(self.blocked_domains)]

    @property
    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(line, strict=False) for line in _lines(self.blocked_networks)]


class BanQuerySet(models.QuerySet):
    def active(self) -> "BanQuerySet":
        now = timezone.now()
        return self.filter(lifted_at__isnull=True).filter(Q(until__isnull=True) | Q(until__gt=now))

    def for_identity(self, user=None, email: str = "") -> "BanQuerySet":
        match = Q(pk__in=[])
        if user is not None:
            match |= Q(user=user) | Q(email__iexact=user.email)
        if email:
            match |= Q(email__iexact=email.strip()) | Q(user__email__iexact=email.strip())
        return self.filter(match)


class Ban(models.Model):
    """A member or a guest email that may not comment, for a time or for good."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="bans"
    )
    email = models.EmailField(blank=True)
    # An erased person's address (forum/portability/erasure.py): a salted digest, still refused.
    email_salt = models.CharField(max_length=32, blank=True, editable=False)
    email_digest = models.CharField(max_length=64, blank=True, editable=False)
    reason = models.TextField()
    until = models.DateTimeField(null=True, blank=True, help_text="Empty: for good.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = BanQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(email="") | ~Q(email_digest=""), name="ban_names_someone"
            ),
        ]

    def __str__(self) -> str:
        return f"Ban of {self.target}"

    @property
    def target(self) -> str:
        return str(self.user) if self.user_id else (self.email or "an erased participant's address")

    @staticmethod
    def digest_of(email: str, salt: str) -> str:
        return hashlib.sha256(f"{salt}{email.strip().lower()}".encode()).hexdigest()

    def matches_address(self, email: str) -> bool:
        """An address this ban refuses by its digest (the ban of an erased person)."""
        return bool(self.email_digest and email) and self.digest_of(email, self.email_salt) == self.email_digest

    def keep_as_digests(self, addresses) -> None:
        """Outlive an erasure: refuse the person's addresses by their salted digests alone, one ban each,
        and forget the address this ban held."""
        for address in sorted({address.strip().lower() for address in addresses if address}):
            salt = secrets.token_hex(16)
            Ban.objects.create(
                email_salt=salt,
                email_digest=self.digest_of(address, salt),
                reason=self.reason,
                until=self.until,
                created_by=self.created_by,
                created_at=self.created_at,
                lifted_at=self.lifted_at,
                lifted_by=self.lifted_by,
            )
        if self.email and not self.user_id:
            self.delete()
        elif self.email:
            Ban.objects.filter(pk=self.pk).update(email="")

    @property
    def subjects(self) -> list[str]:
        """Whom its audit entries concern (forum.audit.log.subject_key)."""
        keys = [subject_key(user_id=self.user_id)] if self.user_id else []
        return [*keys, subject_key(email=self.email)] if self.email else keys

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None and (self.until is None or self.until > timezone.now())


class Flag(models.Model):
    """A reader's report that a comment needs a moderator's look."""

    class Reason(models.TextChoices):
        SPAM = "spam", "Spam or advertising"
        ABUSE = "abuse", "Abusive or uncivil"
        OFF_TOPIC = "off_topic", "Off topic"
        MISATTRIBUTED = "misattributed", "Wrongly attributed"
        OTHER = "other", "Something else"

    comment = models.ForeignKey("discussion.Comment", on_delete=models.CASCADE, related_name="flags")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    guest_email = models.EmailField(blank=True)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["comment", "user"], name="one_flag_per_member"),
            models.UniqueConstraint(
                fields=["comment", "guest_email"], condition=~Q(guest_email=""), name="one_flag_per_guest"
            ),
            models.CheckConstraint(condition=Q(user__isnull=False) | ~Q(guest_email=""), name="flag_has_flagger"),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} on {self.comment_id}"


class OutcomeCount(models.Model):
    """How often something happened in an hour: comment outcomes, refusals by defence, server errors."""

    hour = models.DateTimeField()
    key = models.CharField(max_length=40)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "key"], name="one_count_per_hour_and_key")]
        ordering = ["-hour", "key"]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} {self.key}: {self.count}"

    @classmethod
    def bump(cls, key: str) -> None:
        hour = timezone.now().replace(minute=0, second=0, microsecond=0)
        if cls.objects.filter(hour=hour, key=key).update(count=F("count") + 1):
            return
        try:
            with transaction.atomic():
                cls.objects.create(hour=hour, key=key, count=1)
        except IntegrityError:  # created at the same moment by another request
            cls.objects.filter(hour=hour, key=key).update(count=F("count") + 1)

    @classmethod
    def totals(cls, since) -> dict[str, int]:
        counts: dict[str, int] = {}
        for key, total in cls.objects.filter(hour__gte=since).values_list("key", "count"):
            counts[key] = counts.get(key, 0) + total
        return counts

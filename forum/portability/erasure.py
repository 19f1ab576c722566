"""Erasing a person: everything the site holds about them (forum/portability/person.py) goes, and what
others wrote, the threads' shape and the audit log's chain stay.

- Their comments, and those posted on their behalf, are signed "A former participant": no name,
  affiliation, website, address, ORCID iD, competing-interests statement or IP address. Their texts
  stay, or go too if they ask: then each becomes a tombstone ("erased at its writer's request") and
  its replies keep their place. Earlier texts and proposed corrections go with the texts; the words
  they sent to whoever posted for them, and the mail they sent in, go in any case.
- Their account, if any, keeps its row (so that essays and others' records still point somewhere)
  with nothing of them in it: no address, name, affiliation, iD, page, password, groups; it cannot
  sign in. Their addresses and ORCID connection are deleted.
- What they follow, the outbox's mail to them or naming them (sent or waiting) and the Reply-To
  addresses of mail sent to them are deleted; flags they raised stay, from nobody in particular, without their note.
- A ban on them outlives the erasure: it refuses their addresses by salted digests alone.
- The audit log's details that concern them (their comments', their own acts', a ban's) are erased;
  the entries stay and still verify. The erasure itself is an entry that says what kinds of thing
  went, not whose.
- Every kept rendering of a page goes from the shared cache (their name is in it).
"""

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q

from forum import pagecache
from forum.audit.log import record, subject_key
from forum.audit.models import Action, AuditDetail
from forum.discussion.models import Comment, Correction, Provenance, ReceivedMail, ReplyAddress, Revision, Subscription
from forum.discussion.states import Move
from forum.discussion.writing import change_status
from forum.lib.models import Mail
from forum.moderation.models import Ban, Flag

from .person import Person, posted_for, written_by

FORMER = "A former participant"


@dataclass(frozen=True)
class Erased:
    comments: int
    texts_removed: bool

    def __str__(self) -> str:
        texts = "removed" if self.texts_removed else "kept, without a name"
        return f"A participant's data was erased at their request: {self.comments} comments (their texts {texts})."


def erase(someone: Person, *, remove_texts: bool) -> Erased:
    with transaction.atomic():
        user = someone.user
        theirs = list(written_by(someone).values_list("pk", flat=True))
        named = list(posted_for(someone).values_list("comment_id", flat=True))
        comments = theirs + named

        _erase_log_details(someone, comments)
        Comment.objects.filter(pk__in=comments).update(
            author=None,
            author_name=FORMER,
            author_affiliation="",
            author_website="",
            author_email="",
            author_orcid="",
            competing_interests="",
            ip_address=None,
            notify_replies=False,
            confirmation_nonce="",
            held_reasons="",
        )
        Provenance.objects.filter(comment_id__in=named).update(
            person_email="", original_message="", link_nonce="", link_used_at=None
        )
        for mail in ReceivedMail.objects.filter(comment_id__in=comments):
            ReceivedMail.objects.filter(pk=mail.pk).update(
                sender="", subject="", original="", attachments="", message_id=f"<erased-{mail.pk}@erased.invalid>"
            )
        if remove_texts:
            Revision.objects.filter(comment_id__in=comments).delete()
            Correction.objects.filter(comment_id__in=comments).delete()
            also = {"body": "", "body_html": "", "body_hash": "", "held_reasons": "", "quoted_passage": ""}
            change_status(Comment.objects.filter(pk__in=comments), Move.ERASE, actor_label="its writer", also=also)
        else:
            Revision.objects.filter(comment_id__in=comments).update(competing_interests="")
            Correction.objects.filter(comment_id__in=comments).update(note="")

        Subscription.objects.filter(someone.own("user", "email")).delete()
        Flag.objects.filter(someone.own("user", "guest_email")).update(note="")
        for flag in Flag.objects.filter(someone.own("user", "guest_email")).exclude(guest_email=""):
            Flag.objects.filter(pk=flag.pk).update(guest_email=f"erased-{flag.pk}@erased.invalid")
        for ban in Ban.objects.filter(someone.own("user", "email")):
            ban.keep_as_digests(someone.emails)
        _erase_mail(someone, comments)
        ReplyAddress.objects.filter(someone.addressed("recipient")).delete()
        if user is not None:
            Provenance.objects.filter(submitter=user).update(note_to_moderators="")
            _empty_account(user)

        pagecache.comments_changed(comments)
        erased = Erased(len(comments), remove_texts)
        record(Action.ERASED, actor_label="the site", note=str(erased))
        # Kept renderings hold their name, under keys no page will ask for again: drop them all.
        transaction.on_commit(cache.clear)
    return erased


def _erase_log_details(someone: Person, comments: list[int]) -> None:
    concerning = Q(entry__comment_id__in=comments)
    keys = [subject_key(email=email) for email in someone.emails]
    if someone.user is not None:
        concerning |= Q(actor=someone.user)
        keys.append(subject_key(user_id=someone.user.pk))
    for key in keys:
        concerning |= Q(subjects__regex=rf"(^| ){key}( |$)")
    AuditDetail.objects.filter(concerning).delete()


def _erase_mail(someone: Person, comments: list[int]) -> None:
    """The outbox's copies of mail to them, or naming them (a moderator told of their comment, a
    reader of their reply): sent, failed or waiting, all go (waiting ones are not sent)."""
    names = {comment.author_name for comment in Comment.objects.filter(pk__in=comments)} - {FORMER}
    if someone.user is not None:
        user = someone.user
        names |= {user.display_name, user.get_full_name(), user.orcid_name}
    mentions = someone.addressed("to")
    for word in {*someone.emails, *(name.strip() for name in names)}:
        if len(word) >= 4:  # a name of one or two letters would match half the outbox
            mentions |= Q(subject__icontains=word) | Q(text__icontains=word) | Q(html__icontains=word)
    Mail.objects.filter(mentions).delete()


def _empty_account(user) -> None:
    EmailAddress.objects.filter(user=user).delete()
    SocialAccount.objects.filter(user=user).delete()
    user.groups.clear()
    user.user_permissions.clear()
    user.username = f"former-participant-{user.pk}"
    user.email = user.first_name = user.last_name = ""
    user.display_name, user.affiliation = FORMER, ""
    user.orcid, user.orcid_verified, user.orcid_name = "", False, ""
    user.handle, user.profile_public = None, False
    user.notify_replies = False
    user.is_active = user.is_staff = user.is_superuser = False
    user.last_login = None
    user.set_unusable_password()
    user.save()

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

import re
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from forum import pagecache
from forum.audit.log import erase_parts, record
from forum.audit.models import Action
from forum.discussion.models import Comment, Correction, Provenance, ReceivedMail, ReplyAddress, Revision, Subscription
from forum.discussion.states import Move
from forum.discussion.writing import change_status
from forum.lib.mail import deliver
from forum.lib.models import Mail
from forum.lib.reader import MY_COMMENTS_SESSION_KEY
from forum.moderation.models import Ban, Flag
from forum.search.index import keep_comments

from .person import SESSION_KEY, Person, log_parts, posted_for, written_by

FORMER = "A former participant"


@dataclass(frozen=True)
class Erased:
    comments: int
    texts_removed: bool

    def __str__(self) -> str:
        texts = "removed" if self.texts_removed else "kept, without a name"
        return f"A participant's data was erased at their request: {self.comments} comments (their texts {texts})."


def erase(someone: Person, *, remove_texts: bool) -> Erased:
    """Erase everything held about them (see the module's description); the caller has checked who
    they are (a member signed in again, a guest by their link) and that something is held."""
    with transaction.atomic():
        user = someone.user
        theirs = list(written_by(someone).values_list("pk", flat=True))
        named = list(posted_for(someone).values_list("comment_id", flat=True))
        comments = theirs + named

        covers = erase_parts(*log_parts(someone, comments))
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
            person_email="", original_message="", note_to_moderators="", link_nonce="", link_used_at=None
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

        keep_comments(Comment.objects.filter(pk__in=comments))  # no longer found by their name, nor their words

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

        _end_sessions(someone, comments)
        _forget_admin_history(someone, comments)
        pagecache.comments_changed(comments)
        erased = Erased(len(comments), remove_texts)
        record(Action.ERASED, actor_label="the site", note=str(erased), covers=covers)
        transaction.on_commit(pagecache.erased)
    return erased


def _erase_mail(someone: Person, comments: list[int]) -> None:
    """The outbox's mail to them, or naming them (Mail.about: a moderator told of their comment, a
    reader of their reply or of a reply to it, a person told who posted for them), sent or waiting:
    all go, and waiting ones are not sent."""
    labels = [f"{Comment._meta.label_lower}:{pk}" for pk in comments]
    if someone.user is not None:
        labels.append(Mail.label(someone.user))
    named = someone.addressed("to") | Q(regarding__in=labels)
    for label in labels:
        named |= Q(about__regex=rf"(^| ){re.escape(label)}( |$)")
    doomed = Mail.objects.filter(named)
    ids = list(doomed.values_list("pk", flat=True))
    doomed.delete()
    # The worker's records of sending them: a failed attempt's traceback quotes the address.
    DBTaskResult.objects.filter(task_path=deliver.module_path, args_kwargs__args__0__in=ids).delete()


def _forget_admin_history(someone: Person, comments: list[int]) -> None:
    """The admin's own log names what it changed as it read then (a member made a moderator)."""
    if someone.user is not None:
        user_type = ContentType.objects.get_for_model(someone.user)
        LogEntry.objects.filter(content_type=user_type, object_id=str(someone.user.pk)).update(
            object_repr=FORMER, change_message="[]"
        )
    comment_type = ContentType.objects.get_for_model(Comment)
    LogEntry.objects.filter(content_type=comment_type, object_id__in=[str(pk) for pk in comments]).update(
        object_repr=f"a comment by {FORMER.lower()}", change_message="[]"
    )


def _end_sessions(someone: Person, comments: list[int]) -> None:
    """Every session signed in to their account, on any device, or holding an address of theirs (a
    guest's half-hour of reading their data): their data is in them."""
    user_id = str(someone.user.pk) if someone.user is not None else None
    theirs = set(comments)
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        data = session.get_decoded()
        opened = (data.get(SESSION_KEY) or {}).get("email", "")
        wrote = theirs & set(data.get(MY_COMMENTS_SESSION_KEY) or ())  # a browser that posted as them
        if (user_id and data.get("_auth_user_id") == user_id) or opened.strip().lower() in someone.emails or wrote:
            session.delete()


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

"""Telling moderators that something awaits them."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from forum.discussion import rules
from forum.discussion.models import Comment
from forum.essays.models import Essay
from forum.lib.mail import queue_email


def item_awaits(comment, why: str = "", correction: bool = False) -> None:
    """Mail each moderator of the essay about a comment now in the queue, or a `correction` of it (`why`).

    A correction may be decided by the member who posted the comment on its writer's behalf (on a
    single-author site, the only moderator), so they are told of one.
    """
    link = settings.SITE_URL + reverse("moderation:item", kwargs={"pk": comment.pk})
    for moderator in rules.moderators_of(comment.essay):
        if moderator.moderation_mail != moderator.ModerationMail.IMMEDIATELY:
            continue  # they chose the daily digest, or no mail
        submitter = None if correction else getattr(comment.proxy, "submitter_id", None)
        if moderator.pk in (comment.author_id, submitter):
            continue  # nobody is asked to moderate their own comment
        if comment.author_email and comment.author_email.lower() == moderator.email.lower():
            continue  # nor one sent from their own address (by email, say)
        queue_email(
            "moderation_item",
            moderator.email,
            {"comment": comment, "essay_title": comment.essay.title, "link": link, "why": why or comment.held_reasons},
            about=[comment, comment.proxy.submitter if comment.proxy else None],  # it names both
        )


def send_digests() -> int:
    """One mail to each moderator who chose the daily digest and has something waiting."""
    User = get_user_model()
    sent = 0
    for moderator in User.objects.filter(is_active=True, moderation_mail=User.ModerationMail.DAILY).exclude(email=""):
        actor = rules.Actor(user=moderator)
        if not rules.can_open_desk(actor):
            continue
        waiting = (
            Comment.objects.filter(status=Comment.Status.PENDING)
            .exclude(author=moderator)
            .exclude(provenance__submitter=moderator)
            .select_related("essay")
            .order_by("-created_at")
        )
        if not rules.is_site_moderator(actor):
            waiting = waiting.filter(essay__in=Essay.objects.filter(author=moderator))
        items = list(waiting[:50])
        if not items:
            continue
        queue_email(
            "moderation_digest",
            moderator.email,
            {"items": items, "total": waiting.count(), "link": settings.SITE_URL + reverse("moderation:queue")},
        )
        sent += 1
    return sent

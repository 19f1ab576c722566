"""manage.py receive_email: real-shaped messages (tests/mail/) become pending comments, or clean refusals.

Every accepted message ends as a pending comment "received by email" with its
ReceivedMail, a confirmation mail to its sender and a mail to the moderators.
Every refused one ends with a sysexits code, one log line, and no rows.
"""

import email
import email.policy
import io
import logging
import mailbox
import re
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.mail import EmailMessage
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from forum.audit.models import AuditEntry
from forum.discussion import notifications
from forum.discussion.models import Comment, ReceivedMail, ReplyAddress
from forum.essays.models import Essay
from forum.lib import mailparse
from forum.lib.mail import reply_address, signed_reply_token
from forum.moderation.models import Ban

from .conftest import add_comment, form_data

pytestmark = pytest.mark.django_db

MAIL = Path(__file__).parent / "mail"
ESSAY_ADDRESS = "comments+soft-alliances@comments.localhost"
LINK = re.compile(r"http://testserver(/comments/by-email/[^\s\"<]+/)")


def reply_address_of(comment: Comment) -> str:
    """A reply address as mailed before each recipient had their own (still accepted: a reply, unproven)."""
    return reply_address(comment.essay.slug, signed_reply_token(comment.pk))


def message(name: str, **replacements: str) -> bytes:
    """A message from tests/mail/, with placeholders (REPLY_ADDRESS…) filled in."""
    raw = (MAIL / name).read_bytes()
    for placeholder, value in replacements.items():
        raw = raw.replace(placeholder.encode(), value.encode())
    return raw


@dataclass
class Delivery:
    code: int
    out: str
    err: str


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Pipe bytes to the command (or give it a path); mails sent after commit land in mailoutbox."""

    def go(raw: bytes | None = None, *args: str, **options) -> Delivery:
        out, err = io.StringIO(), io.StringIO()
        if raw is not None:
            options["stdin"] = io.BytesIO(raw)
        code = 0
        with django_capture_on_commit_callbacks(execute=True):
            try:
                call_command("receive_email", *args, stdout=out, stderr=err, **options)
            except SystemExit as exit:
                code = exit.code
        return Delivery(code, out.getvalue(), err.getvalue())

    return go


@pytest.fixture
def team(moderator, admin_user):
    """Carol (Moderators group) and the admin moderate every essay; Rajesh his own."""
    return moderator


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def recipients(mailoutbox) -> set[str]:
    return {address for sent in mailoutbox for address in sent.to}


def mailin_warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "forum.mailin" and r.levelno >= logging.WARNING]


def only_comment() -> Comment:
    """The one comment that came by email."""
    comment = Comment.objects.select_related("received_mail").get(received_mail__isnull=False)
    assert comment.status == Comment.Status.PENDING
    assert comment.held_reasons == "received by email"
    return comment


def assert_accepted(delivery: Delivery, mailoutbox, sender: str) -> Comment:
    assert delivery.code == 0, delivery.err
    comment = only_comment()
    assert comment.reference in delivery.out
    assert comment.received_mail.sender == sender
    assert comment.author_email == sender
    # The sender is asked to confirm it was theirs; the moderators are told it waits.
    to_sender = [sent for sent in mailoutbox if sent.to == [sender]]
    assert len(to_sender) == 1
    assert comment.reference in to_sender[0].subject
    assert LINK.search(to_sender[0].body)
    assert {"carol@example.org", "rajesh@example.org", "admin@example.org"} <= recipients(mailoutbox)
    return comment


def assert_refused(delivery: Delivery, code: int, caplog, mailoutbox, says: str) -> None:
    assert delivery.code == code, (delivery.code, delivery.err)
    assert says in delivery.err
    assert len(mailin_warnings(caplog)) == 1, [r.getMessage() for r in caplog.records]
    assert says in mailin_warnings(caplog)[0].getMessage()
    assert Comment.objects.count() == 0
    assert ReceivedMail.objects.count() == 0
    assert mailoutbox == []


# --- Messages that become pending comments ---------------------------------------------


def test_a_plain_text_message_becomes_a_pending_comment_received_by_email(deliver, essay, team, mailoutbox):
    delivery = deliver(message("plain.eml"))

    comment = assert_accepted(delivery, mailoutbox, "Sean.ORiain@example.ie")
    assert comment.essay == essay
    assert comment.parent is None
    assert comment.author is None
    assert comment.author_name == "Seán Ó Riain"  # RFC 2047 name decoded
    assert comment.body.startswith("Dear Rajesh,\n\nThe distinction you draw")
    assert "the Entente cordiale was ‘soft’ in exactly your sense" in comment.body  # quoted-printable UTF-8
    # A fresh message (not a reply): the writer's own Markdown quotation stays…
    assert "> Institutions matter most where commitments are cheap" in comment.body
    assert "<blockquote>" in comment.body_html
    # …and the signature goes.
    assert comment.body.endswith("I would be glad to hear how you see it.")
    assert "University College Dublin" not in comment.body

    received = comment.received_mail
    assert received.message_id == "<CAF7x1Qm2vZ8dJ0Lr+3k@mail.example.ie>"
    assert received.subject == "On ‘soft alliances’ and the Entente"
    assert "University College Dublin" in received.original  # the text as it arrived, for moderators
    assert received.attachments == ""
    assert received.sender_confirmed_at is None


def test_the_sender_confirms_through_the_emailed_link_and_the_desk_shows_it(deliver, essay, team, mailoutbox):
    comment = assert_accepted(deliver(message("plain.eml")), mailoutbox, "Sean.ORiain@example.ie")
    desk = reverse("moderation:item", kwargs={"pk": comment.pk})
    assert desk == f"/moderation/comments/{comment.pk}/"
    assert "not yet (the From address may be forged)" in as_user(team).get(desk).content.decode()

    (to_sender,) = [sent for sent in mailoutbox if sent.to == ["Sean.ORiain@example.ie"]]
    link = LINK.search(to_sender.body).group(1)
    page = Client().get(link)
    assert page.status_code == 200
    assert "Did you send this comment?" in page.content.decode()
    assert ReceivedMail.objects.get().sender_confirmed_at is None  # looking is not confirming

    confirmed = Client().post(link)
    assert confirmed.status_code == 200
    assert "You confirmed that you sent comment" in confirmed.content.decode()
    received = ReceivedMail.objects.get()
    assert received.sender_confirmed_at is not None
    assert Comment.objects.get().status == Comment.Status.PENDING  # still a moderator's decision
    assert "Sender confirmed</dt><dd>yes" in as_user(team).get(desk).content.decode()
    assert Client().post(link).status_code == 400  # the link works once


@pytest.mark.parametrize("ticked", [True, False], ids=["ticked", "not-ticked"])
def test_the_sender_may_ask_to_hear_of_replies_when_confirming(
    deliver, essay, team, other, mailoutbox, django_capture_on_commit_callbacks, ticked
):
    comment = assert_accepted(deliver(message("plain.eml")), mailoutbox, "Sean.ORiain@example.ie")
    (to_sender,) = [sent for sent in mailoutbox if sent.to == ["Sean.ORiain@example.ie"]]
    link = LINK.search(to_sender.body).group(1)
    assert "Email me when someone replies" in Client().get(link).content.decode()
    confirmed = Client().post(link, {"notify_replies": "on"} if ticked else {})
    assert ("when someone replies to it" in confirmed.content.decode()) is ticked
    Comment.objects.filter(pk=comment.pk).update(status=Comment.Status.PUBLISHED)  # a moderator approved it

    replier = Client()
    replier.force_login(other)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        replier.post(reverse("discussion:reply", kwargs={"pk": comment.pk}), form_data(body="A reply to Seán."))
    assert [sent.to for sent in mailoutbox if "Sean.ORiain@example.ie" in sent.to] == (
        [["Sean.ORiain@example.ie"]] if ticked else []
    )


def test_an_html_only_message_becomes_readable_text(deliver, essay, team, mailoutbox):
    comment = assert_accepted(deliver(message("html-only.eml")), mailoutbox, "mei.lin@example.edu")

    assert comment.author_name == "Mei Lin"
    assert comment.body == (
        "Dear Rajesh,\n\n"
        'Your point about alliance hedging reminds me of Walt’s work & of the "balance of threat" literature.\n'
        "Two things follow:\n\n"
        "- commitments are cheap to make;\n"
        "- they are costly to break.\n\n"
        "See Walt (1987) (https://www.example.edu/papers/walt-1987) for the argument — it still holds.\n\n"
        "Best wishes,\n"
        "Mei Lin"
    )
    assert "alert" not in comment.body and "ignored" not in comment.body  # script and title are not text


def test_multipart_alternative_prefers_the_plain_text_and_joins_flowed_lines(deliver, essay, team, mailoutbox):
    comment = assert_accepted(deliver(message("alternative.eml")), mailoutbox, "tomasz.nowak@example.pl")

    assert "HTML version" not in comment.body
    assert comment.body == (
        "Rajesh,\n\n"
        "I agree with the *entente* reading, with one caveat: the 1907 convention with Russia was anything "
        "but soft, and it was signed within three years of the Entente cordiale.\n\n"
        "Regards,\nTomasz"
    )
    assert "<em>entente</em>" in comment.body_html


def test_a_quoted_reply_to_a_notification_becomes_a_reply_to_that_comment(deliver, essay, other, team, mailoutbox):
    answered = add_comment(essay, author=other, body="Institutions are what make soft alliances last.")
    address = reply_address_of(answered)

    delivery = deliver(message("reply-to-notification.eml", REPLY_ADDRESS=address))

    comment = assert_accepted(delivery, mailoutbox, "alice@example.org")
    assert comment.parent == answered
    assert comment.path.startswith(answered.path)
    assert f"a reply to {answered.reference}" in delivery.out
    # The attribution (wrapped over two lines), the quoted notification and its signature are cut.
    assert comment.body == (
        "Thank you, Bob. I take the point about institutions, but the 1904\n"
        "agreement was made precisely because commitments were cheap.\n\nAlice"
    )
    assert "> Bob Okafor replied to your comment" in comment.received_mail.original
    assert comment.received_mail.subject.startswith("Re: A reply to your comment on “More on ‘Soft Alliances’”")


def test_a_reply_to_a_comment_that_is_no_longer_published_goes_to_the_top_of_the_thread(
    deliver, essay, other, team, mailoutbox
):
    answered = add_comment(essay, author=other, body="Soon removed.")
    address = reply_address_of(answered)
    Comment.objects.filter(pk=answered.pk).update(status=Comment.Status.REMOVED)

    assert deliver(message("reply-to-notification.eml", REPLY_ADDRESS=address)).code == 0

    assert Comment.objects.get(received_mail__isnull=False).parent is None


def test_an_outlook_reply_in_windows_1252_loses_the_original_message_block(deliver, essay, team, mailoutbox):
    comment = assert_accepted(deliver(message("outlook-reply.eml")), mailoutbox, "j.ellis@example.ac.uk")

    assert comment.author_name == "Ellis, John"
    assert comment.body == (
        "Dear all,\n\nI’d add that “soft” alliances are cheaper to exit – which is the whole point.\n\n"
        "Best,\nJohn Ellis"
    )
    assert "Sent: 06 March 2025 09:12" in comment.received_mail.original
    assert comment.received_mail.subject == "RE: More on ‘Soft Alliances’"


def test_an_iso_8859_1_message_keeps_its_accents(deliver, essay, team, mailoutbox):
    # The domain is written in capitals in its headers: it is still ours.
    comment = assert_accepted(deliver(message("latin1.eml")), mailoutbox, "f.muller@example.fr")

    assert comment.author_name == "François Müller"
    assert comment.received_mail.subject == "À propos de l'entente"
    assert "Votre distinction entre alliance « souple » et entente est éclairante" in comment.body
    assert "\ufffd" not in comment.body


def test_an_iso_2022_jp_message_is_read_as_japanese(deliver, essay, team, mailoutbox):
    comment = assert_accepted(deliver(message("iso-2022-jp.eml")), mailoutbox, "hanako.sato@example.jp")

    assert comment.author_name == "佐藤 花子"
    assert comment.received_mail.subject == "日英同盟について"
    assert "「ソフトな同盟」という概念は、日英同盟の理解にも役立つと思います。" in comment.body


def test_attachments_are_ignored_and_named_for_moderators_on_the_desk(deliver, essay, team, mailoutbox):
    comment = assert_accepted(deliver(message("attachment.eml")), mailoutbox, "bob@example.org")

    assert comment.body == (
        "Rajesh, my notes on the Anglo-Japanese treaty of 1902 are attached; in\n"
        "short, it was the least soft of the alliances you discuss.\n\nBob"
    )
    assert "PDF" not in comment.body and "PDF" not in comment.received_mail.original
    assert comment.received_mail.attachments == "Résumé 1902.pdf\nmap.png"

    page = as_user(team).get(f"/moderation/comments/{comment.pk}/").content.decode()
    assert "Ignored attachments" in page
    assert "Résumé 1902.pdf<br>map.png" in page
    audit = AuditEntry.objects.get(comment=comment)
    assert audit.note == "ignored attachments: Résumé 1902.pdf, map.png"


def test_a_bcc_found_in_x_original_to_and_a_missing_message_id_is_made_stable(deliver, essay, team, mailoutbox, caplog):
    raw = message("bcc-no-message-id.eml")
    first = deliver(raw)
    # The mail server delivers it again, through another relay.
    again = deliver(b"Received: from relay2.example.org by mx.comments.localhost; Tue, 11 Mar 2025\r\n" + raw)

    assert first.code == again.code == 0
    comment = assert_accepted(first, mailoutbox, "bob@example.org")
    assert comment.received_mail.message_id.endswith("@no-message-id.invalid>")
    assert f"Already received as comment {comment.reference}" in again.out
    assert mailin_warnings(caplog) == []


def test_the_envelope_recipient_from_the_mail_server_wins_over_the_headers(deliver, essay, author, team, mailoutbox):
    other_essay = Essay.objects.create(
        title="Hard Alliances",
        slug="hard-alliances",
        author=author,
        body="Another essay.",
        status=Essay.Status.PUBLISHED,
        published_at=timezone.now() - timezone.timedelta(days=1),
    )

    delivery = deliver(message("plain.eml"), recipient="comments+hard-alliances@comments.localhost")

    assert delivery.code == 0
    assert only_comment().essay == other_essay


def test_the_same_message_delivered_twice_makes_one_comment(deliver, essay, team, mailoutbox, caplog):
    first = deliver(message("plain.eml"))
    mails_after_first = len(mailoutbox)
    second = deliver(message("plain.eml"))

    assert first.code == second.code == 0
    comment = only_comment()
    assert ReceivedMail.objects.count() == 1
    assert f"Already received as comment {comment.reference}" in second.out
    assert len(mailoutbox) == mails_after_first  # nobody is mailed twice
    assert mailin_warnings(caplog) == []


def test_a_single_eml_file_can_be_given_as_a_path(deliver, essay, team, mailoutbox):
    delivery = deliver(None, str(MAIL / "latin1.eml"))

    assert_accepted(delivery, mailoutbox, "f.muller@example.fr")


def test_raw_utf8_headers_unknown_charsets_and_undecodable_bytes_do_not_crash(deliver, essay, team, mailoutbox):
    raw = (
        "From: Seán Ó Riain <sean@example.ie>\r\n"
        f"To: {ESSAY_ADDRESS}\r\n"
        "Subject: Déjà vu\r\n"
        "Message-ID: <raw-8bit@example.ie>\r\n"
        "Content-Type: text/plain; charset=x-klingon\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + b"Broken bytes \xff\xfe and a NUL \x00 in the middle, and caf\xc3\xa9.\r\n"

    comment = assert_accepted(deliver(raw), mailoutbox, "sean@example.ie")

    assert comment.author_name == "Seán Ó Riain"  # RFC 6532: UTF-8 straight in the header
    assert comment.received_mail.subject == "Déjà vu"
    assert comment.body.startswith("Broken bytes ")
    assert "\x00" not in comment.body and "\x00" not in comment.received_mail.original
    assert comment.body.endswith("in the middle, and café.")


# --- Refusals ------------------------------------------------------------------------------


def test_an_oversized_message_is_refused_before_it_is_parsed(deliver, essay, team, mailoutbox, caplog, settings):
    settings.FORUM_MAX_EMAIL_BYTES = 500
    raw = message("plain.eml")
    stream = io.BytesIO(raw)

    delivery = deliver(None, stdin=stream)

    assert_refused(delivery, 65, caplog, mailoutbox, f"The message is {len(raw):,} bytes")
    assert stream.tell() == len(raw)  # read to the end: the mail server sees no broken pipe


def test_an_oversized_eml_file_is_refused_too(deliver, essay, team, mailoutbox, caplog, settings):
    settings.FORUM_MAX_EMAIL_BYTES = 500

    assert_refused(deliver(None, str(MAIL / "plain.eml")), 65, caplog, mailoutbox, "comments by email may be 500")


def test_garbage_bytes_are_refused_as_unreadable(deliver, essay, team, mailoutbox, caplog):
    assert_refused(deliver(message("garbage.eml")), 65, caplog, mailoutbox, "not an email message")


def test_a_message_without_a_sender_is_refused(deliver, essay, team, mailoutbox, caplog):
    assert_refused(deliver(message("no-sender.eml")), 65, caplog, mailoutbox, "no sender address")


def test_a_message_for_nobody_here_is_refused(deliver, essay, team, mailoutbox, caplog):
    raw = message("unknown-essay.eml").replace(b"comments+hard-alliances@comments.localhost", b"rajesh@example.org")

    assert_refused(deliver(raw), 65, caplog, mailoutbox, "not addressed to a comment address")


def test_an_unknown_essay_is_refused_with_no_such_user(deliver, essay, team, mailoutbox, caplog):
    assert_refused(
        deliver(message("unknown-essay.eml")),
        67,
        caplog,
        mailoutbox,
        "No essay has the address comments+hard-alliances@comments.localhost",
    )


def test_another_address_at_the_mail_domain_is_refused_with_no_such_user(deliver, essay, team, mailoutbox, caplog):
    raw = message("plain.eml").replace(ESSAY_ADDRESS.encode(), b"moderators@comments.localhost")

    assert_refused(deliver(raw), 67, caplog, mailoutbox, "moderators@comments.localhost is not a comment address")


def test_a_forged_reply_token_is_refused(deliver, essay, team, mailoutbox, caplog):
    forged = "comments+soft-alliances.MQ:1xWWB4:forgedsignature@comments.localhost"

    assert_refused(
        deliver(message("reply-to-notification.eml", REPLY_ADDRESS=forged)),
        67,
        caplog,
        mailoutbox,
        "The reply address was not one of ours.",
    )


def test_a_closed_essay_refuses_email(deliver, essay, team, mailoutbox, caplog):
    essay.comments_open = False
    essay.save()

    assert_refused(deliver(message("plain.eml")), 67, caplog, mailoutbox, "are closed")


def test_a_draft_essay_is_unknown_and_its_title_is_not_told(deliver, essay, team, mailoutbox, caplog):
    essay.status = Essay.Status.DRAFT
    essay.save()

    delivery = deliver(message("plain.eml"))

    assert_refused(delivery, 67, caplog, mailoutbox, "No essay has the address")
    assert essay.title not in delivery.err


def test_a_banned_sender_is_refused_without_being_told_the_reason(deliver, essay, team, mailoutbox, caplog):
    Ban.objects.create(email="sean.oriain@example.ie", reason="Personal attacks on other commenters.", created_by=team)

    delivery = deliver(message("plain.eml"))

    assert_refused(delivery, 77, caplog, mailoutbox, "The sender may not comment on this site.")
    assert "Personal attacks" not in delivery.err


def test_a_reply_with_nothing_but_quotes_and_a_signature_is_refused_as_empty(deliver, essay, team, mailoutbox, caplog):
    assert_refused(deliver(message("quotes-only.eml")), 65, caplog, mailoutbox, "no text of its own")


def test_an_automatic_reply_is_dropped_without_a_bounce(deliver, essay, other, team, mailoutbox, caplog):
    address = reply_address_of(add_comment(essay, author=other, body="Something to be away from."))

    delivery = deliver(message("auto-reply.eml", REPLY_ADDRESS=address))

    assert delivery.code == 0  # a bounce to an auto-reply is backscatter
    assert "Auto-Submitted: auto-replied" in delivery.out
    assert len(mailin_warnings(caplog)) == 1
    assert ReceivedMail.objects.count() == 0
    assert Comment.objects.count() == 1
    assert mailoutbox == []


def test_mail_from_the_site_itself_is_never_a_comment(deliver, essay, team, mailoutbox, caplog, settings):
    raw = message("plain.eml").replace(b"<Sean.ORiain@Example.IE>", b"<noreply@comments.localhost>")

    delivery = deliver(raw)

    assert delivery.code == 0
    assert "sent by this site's own address" in delivery.out
    assert len(mailin_warnings(caplog)) == 1
    assert Comment.objects.count() == 0


def test_a_missing_path_is_an_error():
    with pytest.raises(CommandError, match="No such file or directory"):
        call_command("receive_email", "/nonexistent/mail.eml")


# --- Mailboxes -----------------------------------------------------------------------------


def test_an_mbox_is_processed_message_by_message_with_one_summary_line(deliver, essay, team, mailoutbox, caplog):
    delivery = deliver(None, str(MAIL / "several.mbox"))

    assert delivery.code == 0
    assert delivery.out.strip() == "Accepted 2, refused 1 (unknown essay: 1)."
    assert "message 2: No essay has the address comments+no-such-essay@" in delivery.err
    assert len(mailin_warnings(caplog)) == 1
    comments = {c.author_name: c for c in Comment.objects.select_related("received_mail")}
    assert set(comments) == {"Alice Sharma", "T.V. Paul"}
    assert comments["Alice Sharma"].body == "From my reading, soft alliances are older than the term."  # mboxrd
    assert comments["T.V. Paul"].body == "There is already a concept called *entente*."
    assert all(c.status == Comment.Status.PENDING for c in comments.values())
    assert {"alice@example.org", "tv.paul@example.edu", "carol@example.org"} <= recipients(mailoutbox)

    again = deliver(None, str(MAIL / "several.mbox"))

    assert again.out.strip() == "Accepted 0, already received 2, refused 1 (unknown essay: 1)."
    assert Comment.objects.count() == 2


def test_a_maildir_is_processed_message_by_message_with_one_summary_line(
    deliver, essay, team, mailoutbox, caplog, tmp_path
):
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for name in ("plain.eml", "html-only.eml", "garbage.eml", "unknown-essay.eml", "plain.eml"):
        box.add(message(name))
    shutil.copy(MAIL / "iso-2022-jp.eml", tmp_path / "Maildir" / "cur" / "1741400000.M1P1.mx:2,S")  # already seen

    delivery = deliver(None, str(tmp_path / "Maildir"))

    assert delivery.code == 0
    assert delivery.out.strip() == ("Accepted 3, already received 1, refused 2 (unknown essay: 1, unreadable: 1).")
    assert len(mailin_warnings(caplog)) == 2
    assert sorted(Comment.objects.values_list("author_name", flat=True)) == ["Mei Lin", "Seán Ó Riain", "佐藤 花子"]
    assert ReceivedMail.objects.count() == 3
    assert {"Sean.ORiain@example.ie", "mei.lin@example.edu", "hanako.sato@example.jp"} <= recipients(mailoutbox)


def test_a_directory_that_is_not_a_maildir_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="not a maildir"):
        call_command("receive_email", str(tmp_path))


# --- The parsing helpers, on their own ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes.\n\nOn Mon, 3 Mar 2025 at 10:00, Rajesh <r@example.org> wrote:\n> Essay.\n", "Yes."),
        ("Yes.\n\nOn Mon, 3 Mar 2025 at 10:00, Rajesh\n<r@example.org> wrote:\n\n> Essay.\n", "Yes."),
        ("Yes.\n\nOn 03/03/2025 10:00, Rajesh wrote:\nunquoted original\n", "Yes."),
        ("Yes.\n\n-----Original Message-----\nFrom: Rajesh\nSent: Monday\n\nEssay.\n", "Yes."),
        ("Yes.\n\nFrom: Rajesh <r@example.org>\nSent: Monday, 3 March 2025 10:00\nTo: x\n\nEssay.", "Yes."),
        ("See below.\n\n---------- Forwarded message ---------\nFrom: Someone\n\nTheir words.", "See below."),
        ("Yes.\n--\nBob\n", "Yes."),
        ("Yes.\n-- \nBob\n", "Yes."),
        ("Yes.\n---\nA Markdown rule is not a signature.", "Yes.\n---\nA Markdown rule is not a signature."),
        # An inline reply: the answers between the quotes are the comment.
        (
            "On Mon, 3 Mar 2025 at 10:00, Rajesh <r@example.org> wrote:\n> First point?\nAgreed.\n\n"
            "> Second point?\nNot at all.\n-- \nBob",
            "Agreed.\n\nNot at all.",
        ),
    ],
)
def test_replies_lose_quotes_attributions_outlook_blocks_and_signatures(text, expected):
    assert mailparse.strip_reply(text, is_reply=True)[0] == expected


def test_a_fresh_message_keeps_its_own_quotations_and_a_historians_attribution():
    text = "On 12 May 1945, Churchill wrote:\n\n> An iron curtain is drawn down upon their front.\n\nHe was early."

    assert mailparse.strip_reply(text, is_reply=False) == (text, False)


def test_html_replies_mark_blockquotes_as_quotes_so_they_are_cut():
    html = (
        '<div dir="ltr">I disagree &ndash; see <a href="https://example.org/a">https://example.org/a</a>.</div><br>'
        '<div class="gmail_quote"><div class="gmail_attr">On Mon, 3 Mar 2025 at 10:00, Rajesh &lt;r@example.org&gt;'
        ' wrote:<br></div><blockquote class="gmail_quote"><p>Soft alliances</p><p>last.</p></blockquote></div>'
    )

    text = mailparse.html_to_text(html)

    assert text == (
        "I disagree – see https://example.org/a.\n\n"
        "On Mon, 3 Mar 2025 at 10:00, Rajesh <r@example.org> wrote:\n\n> Soft alliances\n>\n> last."
    )
    assert mailparse.strip_reply(text)[0] == "I disagree – see https://example.org/a."


def test_html_keeps_preformatted_text_and_numbered_lists():
    html = "<p>Steps:</p><ol><li>one</li><li>two</li></ol><pre>  a  b\n  c</pre><p>x&nbsp;&lt;y&gt;</p>"

    assert mailparse.html_to_text(html) == "Steps:\n\n1. one\n2. two\n\n  a  b\n  c\n\nx <y>"


@pytest.mark.parametrize(
    ("data", "charset", "expected"),
    [
        (b"caf\xe9 \x93quoted\x94", "iso-8859-1", "café “quoted”"),  # what Windows means by latin-1
        (b"caf\xc3\xa9", None, "café"),
        (b"caf\xe9", "us-ascii", "café"),
        (b"caf\xe9", "x-no-such-charset", "café"),
        (b"caf\xc3", "utf-8", "caf\ufffd"),
    ],
)
def test_bytes_in_any_declared_charset_decode_without_raising(data, charset, expected):
    assert mailparse.decode_bytes(data, charset) == expected


# --- Bugs found elsewhere (see the report) ------------------------------------------------


REPLY_TO_BUG = (
    "BUG: reply_address() keeps signing.dumps()'s ':' separators in the local part; notifications send "
    "'Reply-To: comments+slug.MQ:1x…:sig@domain', which RFC 5322 reads as a group, so mail clients answer a "
    "garbled address and the answer never reaches the thread."
)


def test_a_reply_address_survives_a_reply_to_header(essay, other):
    address = reply_address_of(add_comment(essay, author=other))
    sent = EmailMessage("A reply", "Text.", "noreply@comments.localhost", ["alice@example.org"], reply_to=[address])

    parsed = email.message_from_bytes(sent.message().as_bytes(), policy=email.policy.default)

    assert [a.addr_spec for a in parsed["Reply-To"].addresses] == [address]


def test_answering_a_real_reply_notification_brings_the_answer_into_the_thread(
    deliver, essay, member, other, team, mailoutbox, django_capture_on_commit_callbacks
):
    first = add_comment(essay, author=member, body="A first thought.")
    with django_capture_on_commit_callbacks(execute=True):
        as_user(other).post(reverse("discussion:reply", kwargs={"pk": first.pk}), form_data(body="A second thought."))
    (notification,) = [sent for sent in mailoutbox if sent.to == ["alice@example.org"]]
    on_the_wire = email.message_from_bytes(notification.message().as_bytes(), policy=email.policy.default)
    (answer_to,) = [a.addr_spec for a in on_the_wire["Reply-To"].addresses]  # what Alice's mail client answers

    delivery = deliver(message("reply-to-notification.eml", REPLY_ADDRESS=answer_to))

    assert delivery.code == 0, delivery.err
    answer = Comment.objects.get(received_mail__isnull=False)
    assert answer.parent == Comment.objects.get(body="A second thought.")
    assert (answer.author, answer.status) == (member, Comment.Status.PUBLISHED)  # from her own mailbox: hers


def test_the_audit_log_does_not_call_an_emailed_comment_a_proxy_post(deliver, essay, team):
    deliver(message("plain.eml"))

    entry = AuditEntry.objects.get(comment=Comment.objects.get())

    assert entry.actor_label == "Sean.ORiain@example.ie (by email)"
    assert "on someone's behalf" not in entry.get_action_display()


def test_a_long_but_valid_sender_address_is_received(deliver, essay, team, mailoutbox):
    sender = "a" * 64 + "@" + "b" * 60 + "." + "c" * 60 + ".example.org"  # 198 characters, valid
    raw = message("plain.eml").replace(b"<Sean.ORiain@Example.IE>", f"<{sender}>".encode())

    assert_accepted(deliver(raw), mailoutbox, sender)


# --- Issue 15, fault 11: a member's answer from the address the notification went to is hers -----------------


def test_fault_11_a_members_answer_to_her_own_notification_is_her_comment(
    deliver, essay, member, other, team, mailoutbox
):
    answered = add_comment(essay, author=other, body="Institutions are what make soft alliances last.")
    address = reply_address(essay.slug, notifications.reply_token(answered, "alice@example.org"))

    delivery = deliver(message("reply-to-notification.eml", REPLY_ADDRESS=address))

    assert delivery.code == 0, delivery.err
    comment = Comment.objects.select_related("received_mail").get(received_mail__isnull=False)
    assert (comment.author, comment.author_name, comment.status) == (member, "Alice Sharma", Comment.Status.PUBLISHED)
    assert comment.parent == answered
    assert comment.received_mail.sender_confirmed_at is not None
    assert "it is published" in delivery.out
    assert "alice@example.org" not in recipients(mailoutbox)  # no "confirm it was you" mail, nothing about her own
    assert "Sent by email." in as_user(member).get(essay.get_absolute_url()).text
    assert deliver(message("reply-to-notification.eml", REPLY_ADDRESS=address)).code == 0  # delivered twice
    assert Comment.objects.filter(received_mail__isnull=False).count() == 1


def test_fault_11_an_answer_from_another_address_stays_a_held_comment(deliver, essay, member, other, team, mailoutbox):
    """The token was mailed to Bob; a message From Alice carrying it proves nothing about Alice."""
    answered = add_comment(essay, author=other, body="Institutions are what make soft alliances last.")
    address = reply_address(essay.slug, notifications.reply_token(answered, "bob@example.org"))
    assert_accepted(
        deliver(message("reply-to-notification.eml", REPLY_ADDRESS=address)), mailoutbox, "alice@example.org"
    )


def test_fault_11_a_moderator_is_not_asked_to_moderate_what_came_from_her_own_address(
    deliver, essay, moderator, mailoutbox
):
    mail = message("plain.eml").replace(b"Sean.ORiain@Example.IE", moderator.email.encode())
    assert deliver(mail).code == 0
    told = [m for m in mailoutbox if m.to == [moderator.email] and "Waiting for you" in m.subject]
    assert told == []


def test_fault_11_a_reply_address_proves_its_recipient_once_and_never_shows_in_the_log(
    deliver, essay, member, other, team, mailoutbox, caplog
):
    answered = add_comment(essay, author=other, body="Institutions are what make soft alliances last.")
    token = notifications.reply_token(answered, "alice@example.org")
    first = message("reply-to-notification.eml", REPLY_ADDRESS=reply_address(essay.slug, token))
    copied = first.replace(b"Message-ID: <", b"Message-ID: <copied-")  # the address, copied from a Cc

    with caplog.at_level(logging.INFO, logger="forum.mailin"):
        assert deliver(first).code == 0
        assert deliver(copied).code == 0

    answers = Comment.objects.filter(received_mail__isnull=False).order_by("pk")
    assert [(c.author, c.status) for c in answers] == [
        (member, Comment.Status.PUBLISHED),
        (None, Comment.Status.PENDING),  # the second answer proves nothing: held, with a confirmation mail
    ]
    assert token not in caplog.text


def test_fault_11_an_old_reply_address_proves_nothing(deliver, essay, member, other, team, mailoutbox, settings):
    settings.FORUM_REPLY_ADDRESS_MAX_AGE = 3600
    answered = add_comment(essay, author=other, body="Institutions are what make soft alliances last.")
    token = notifications.reply_token(answered, "alice@example.org")
    ReplyAddress.objects.filter(token=token).update(created_at=timezone.now() - timedelta(hours=2))
    deliver(message("reply-to-notification.eml", REPLY_ADDRESS=reply_address(essay.slug, token)))
    assert Comment.objects.get(received_mail__isnull=False).status == Comment.Status.PENDING


@pytest.mark.parametrize("subject", ["Out of Office: Re: A reply", "Automatic reply: A reply", "Abwesenheit"])
def test_fault_11_an_out_of_office_answer_is_held_and_leaves_the_proof_for_her_own(
    deliver, essay, member, other, team, mailoutbox, subject
):
    """No Auto-Submitted header, from her own address, to her own notification: still not her words."""
    answered = add_comment(essay, author=other, body="Institutions are what make soft alliances last.")
    address = reply_address(essay.slug, notifications.reply_token(answered, "alice@example.org"))
    mail = message("reply-to-notification.eml", REPLY_ADDRESS=address)
    automatic = re.sub(rb"(?m)^Subject: .*$", f"Subject: {subject}".encode(), mail).replace(
        b"Message-ID: <", b"Message-ID: <ooo-"
    )

    automatic = automatic.replace(b"Thank you, Bob.", b"I am away until Monday.")
    assert deliver(automatic).code == 0
    assert deliver(mail).code == 0

    answers = Comment.objects.filter(received_mail__isnull=False).order_by("pk")
    assert [(c.author, c.status) for c in answers] == [
        (None, Comment.Status.PENDING),
        (member, Comment.Status.PUBLISHED),
    ]

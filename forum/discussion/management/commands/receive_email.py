"""manage.py receive_email: comments that arrive by email (see docs/email-in.md).

A mail server pipes one message to standard input; the exit status tells it
what became of it (0 accepted, or a sysexits code it turns into a bounce).
Given a path, the command reads that .eml file, or every message of a maildir
or an mbox, and prints one summary line.
"""

import logging
import mailbox
import re
import sys
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from forum.discussion import mailin
from forum.discussion.models import Comment
from forum.essays.models import Essay
from forum.lib import mailparse
from forum.lib.errors import ClosedError, NotAllowed, Refused

logger = logging.getLogger("forum.mailin")

MBOXRD_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)

# sysexits.h: what a mail server makes of the exit status.
EX_OK = 0
EX_DATAERR = 65  # the message itself is unusable: bounce
EX_NOINPUT = 66
EX_NOUSER = 67  # no such address (unknown or closed essay): bounce
EX_TEMPFAIL = 75  # our fault (database down…): the mail server keeps it and tries again
EX_NOPERM = 77  # the sender may not comment here: bounce

# Refusals, as the batch summary counts them.
LABELS = {
    "too_large": "too large",
    "unreadable": "unreadable",
    "no_recipient": "no comment address",
    "unknown_address": "unknown address",
    "unknown_essay": "unknown essay",
    "closed": "closed essay",
    "empty": "no text",
    "banned": "banned sender",
    "refused": "refused",
    "automatic": "automatic mail",
    "error": "temporary error",
}


@dataclass(frozen=True)
class Outcome:
    code: int
    key: str  # "accepted", "duplicate", or a key of LABELS
    reason: str  # for the log, and for the bounce the mail server sends
    comment: Comment | None = None


class Command(BaseCommand):
    help = (
        "Receive comments by email: one message on standard input (from a mail server's pipe), "
        "or a path to an .eml file, a maildir or an mbox. See docs/email-in.md."
    )
    # Tests (and callers) may hand over the message as a binary stream: call_command(..., stdin=io.BytesIO(raw)).
    stealth_options = ("stdin",)

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", nargs="?", help="An .eml file, a maildir directory or an mbox file.")
        parser.add_argument(
            "--recipient",
            default="",
            help="The envelope recipient, as the mail server knows it (Postfix: ${original_recipient}); "
            "it wins over the Delivered-To, X-Original-To, To and Cc headers.",
        )

    def handle(self, *args, path: str | None = None, recipient: str = "", **options) -> None:
        if path:
            source = Path(path)
            if source.is_dir():
                return self.batch(self.maildir(source), recipient)
            if not source.is_file():
                raise CommandError(f"No such file or directory: {path}", returncode=EX_NOINPUT)
            with source.open("rb") as start:
                is_mbox = source.suffix.lower() != ".eml" and start.read(5) == b"From "
            if is_mbox:
                return self.batch(self.mbox(source), recipient)
            size = source.stat().st_size
            raw = source.read_bytes() if size <= settings.FORUM_MAX_EMAIL_BYTES else b""
        else:
            raw, size = self.read_stdin(options.get("stdin"))
        outcome = self.process(raw, recipient, size=size)
        if outcome.code != EX_OK:
            self.stderr.write(outcome.reason)
            raise SystemExit(outcome.code)
        self.stdout.write(outcome.reason)

    # --- Reading ------------------------------------------------------------------------

    @staticmethod
    def read_stdin(stream) -> tuple[bytes, int]:
        """The message's bytes, and its size. Past the limit, the rest is read and thrown away."""
        stream = stream if stream is not None else sys.stdin
        stream = getattr(stream, "buffer", stream)
        limit = settings.FORUM_MAX_EMAIL_BYTES

        def chunk(size: int) -> bytes:
            data = stream.read(size)
            return data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data

        raw = chunk(limit + 1)
        size = len(raw)
        if size > limit:
            raw = b""  # the mail server expects us to read it all (else: a broken pipe)
            while more := chunk(1 << 16):
                size += len(more)
        return raw, size

    @staticmethod
    def maildir(path: Path):
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise CommandError(f"{path} is a directory but not a maildir (no cur/ or new/).", returncode=EX_NOINPUT)
        box = mailbox.Maildir(path, factory=None, create=False)
        for key in sorted(box.keys()):  # unique names start with the delivery time
            try:
                raw = box.get_bytes(key)
            except (KeyError, FileNotFoundError):  # moved away by a mail client meanwhile
                continue
            yield key, raw

    @staticmethod
    def mbox(path: Path):
        box = mailbox.mbox(path, factory=None, create=False)
        try:
            for key in box.iterkeys():
                # mboxrd: a body line ">From " was "From " before it was stored.
                yield f"message {key + 1}", MBOXRD_FROM.sub(rb"\1", box.get_bytes(key))
        finally:
            box.close()

    def batch(self, messages, recipient: str) -> None:
        accepted = duplicates = 0
        refused: dict[str, int] = {}
        for name, raw in messages:
            outcome = self.process(raw, recipient, size=len(raw))
            if outcome.key == "accepted":
                accepted += 1
            elif outcome.key == "duplicate":
                duplicates += 1
            else:
                refused[outcome.key] = refused.get(outcome.key, 0) + 1
                self.stderr.write(f"{name}: {outcome.reason}")
        summary = f"Accepted {accepted}"
        if duplicates:
            summary += f", already received {duplicates}"
        summary += f", refused {sum(refused.values())}"
        if refused:
            summary += " (" + ", ".join(f"{LABELS[key]}: {n}" for key, n in sorted(refused.items())) + ")"
        self.stdout.write(summary + ".")
        logger.info("receive_email batch: %s.", summary)
        if "error" in refused:
            raise SystemExit(EX_TEMPFAIL)  # some messages could not be stored: run again later

    # --- One message ------------------------------------------------------------------

    def process(self, raw: bytes, recipient: str = "", size: int | None = None) -> Outcome:
        """Receive one message; log one line for a refusal."""
        size = len(raw) if size is None else size
        limit = settings.FORUM_MAX_EMAIL_BYTES
        if size > limit:
            return self.refuse(
                EX_DATAERR, "too_large", f"The message is {size:,} bytes; comments by email may be {limit:,} at most."
            )
        try:
            parsed = mailparse.parse(raw, settings.FORUM_MAIL_DOMAIN, envelope_recipient=recipient)
        except mailparse.Unreadable as error:
            return self.refuse(EX_DATAERR, "unreadable", str(error))
        except Exception as error:  # whatever a broken message does to the email package: not mail we can read
            return self.refuse(EX_DATAERR, "unreadable", f"The message could not be read ({type(error).__name__}).")
        try:
            return self.accept(parsed)
        except Exception:
            logger.exception("Could not store an emailed comment (Message-ID %s); the mail server will retry.",
                             parsed.message_id)  # fmt: skip
            return Outcome(EX_TEMPFAIL, "error", "Temporary failure storing the comment; please try again later.")

    def accept(self, parsed: mailparse.Parsed) -> Outcome:
        about = f"from {parsed.sender_email}, Message-ID {parsed.message_id}"
        # Auto-replies and bounces first: bouncing them back would be backscatter, or a loop.
        machine = parsed.automatic or self.from_ourselves(parsed.sender_email)
        if machine:
            return self.refuse(EX_OK, "automatic", f"Ignored automatic mail ({machine}).", about)
        try:
            validate_email(parsed.sender_email)
        except ValidationError:
            return self.refuse(EX_DATAERR, "unreadable", f"The sender address {parsed.sender_email} is not valid.")
        if parsed.target is None:
            if parsed.other_address:
                return self.refuse(
                    EX_NOUSER,
                    "unknown_address",
                    f"{parsed.other_address} is not a comment address; "
                    f"write to comments+<essay>@{settings.FORUM_MAIL_DOMAIN}.",
                    about,
                )
            return self.refuse(EX_DATAERR, "no_recipient", "The message is not addressed to a comment address.", about)
        address = parsed.target.address
        # Never the reply token itself in a log: it proves its recipient.
        shown = address.replace(parsed.target.token, "<token>") if parsed.target.token else address
        about = f"to {shown} {about}"
        essay = self.find_essay(parsed.target.slug)
        if essay is None:
            return self.refuse(EX_NOUSER, "unknown_essay", f"No essay has the address {address}.", about)
        parent, proven = None, False
        if parsed.target.token:
            try:
                # An out-of-office answer with none of the usual headers may be kept, held; it proves nothing.
                may_prove = not mailparse.looks_automatic(parsed.subject)
                parent, proven = mailin.reply_target(parsed.target.token, essay, parsed.sender_email, may_prove)
            except Refused as error:
                return self.refuse(EX_NOUSER, "unknown_address", f"{address}: {error}", about)
        incoming = mailin.IncomingComment(
            message_id=parsed.message_id,
            sender_email=parsed.sender_email,
            sender_name=parsed.sender_name,
            subject=parsed.subject,
            body=parsed.body,
            original=parsed.original,
            attachments=parsed.attachments,
        )
        try:
            received = mailin.receive(essay, incoming, parent=parent, proven=proven)
        except ClosedError as error:
            return self.refuse(EX_NOUSER, "closed", str(error), about)
        except NotAllowed as error:  # a member who must set their name first, say
            return self.refuse(EX_NOPERM, "refused", str(error), about)
        except Refused as error:
            if error.key == "banned":  # the moderators' reason is not told to a From that may be forged
                return self.refuse(EX_NOPERM, "banned", "The sender may not comment on this site.", about)
            if error.key == "empty":
                return self.refuse(EX_DATAERR, "empty", str(error), about)
            return self.refuse(EX_NOPERM, "refused", f"{error} ({error.key})", about)
        comment = received.comment
        if not received.created:
            logger.info("Already received %s as %s; delivered again %s.", parsed.message_id, comment.reference, about)
            return Outcome(EX_OK, "duplicate", f"Already received as comment {comment.reference}.", comment)
        replying = f", a reply to {comment.parent.reference}" if comment.parent_id else ""
        logger.info("Received %s by email %s%s.", comment.reference, about, replying)
        fate = "it is published" if comment.is_published else "it awaits a moderator"
        return Outcome(
            EX_OK, "accepted", f"Received as comment {comment.reference} on “{essay.title}”{replying}; {fate}.", comment
        )

    # --- Helpers ------------------------------------------------------------------------

    @staticmethod
    def find_essay(slug: str) -> Essay | None:
        """Published essays only: a draft's address must not say that the draft exists."""
        essays = Essay.objects.listed()
        return essays.filter(slug=slug).first() or essays.filter(slug__iexact=slug).first()

    @staticmethod
    def from_ourselves(sender: str) -> str:
        """Mail sent by this site (a notification bounced or forwarded back): never a comment."""
        ours = {parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower(), parseaddr(settings.SERVER_EMAIL)[1].lower()}
        if sender.lower() in ours or sender.rsplit("@", 1)[-1] == settings.FORUM_MAIL_DOMAIN.lower():
            return f"sent by this site's own address {sender}"
        return ""

    def refuse(self, code: int, key: str, reason: str, about: str = "") -> Outcome:
        """One log line for the moderators' server log; the reason goes to stderr (and the bounce)."""
        logger.warning("Refused an emailed comment (%s): %s%s", LABELS[key], reason, f" [{about}]" if about else "")
        return Outcome(code, key, reason)

"""What signing in with ORCID proves, and what the site does with it.

allauth's ORCID provider does the OAuth dance and keeps one SocialAccount per ORCID record (its uid is
the iD; one record, one account: connecting it to a second account is refused). This module turns
allauth's signals into the member's profile: while the record is connected, their iD is verified
and shown, with the name the record holds (User.show_orcid); once disconnected it is not
(User.forget_orcid_proof). Only allauth's signals call these: the profile form never sets a proof.
"""

from allauth.socialaccount.models import SocialAccount

from forum.lib.orcid import normalise_orcid

from .models import User

PROVIDER = "orcid"


def name_in_record(record: dict) -> str:
    """The name an ORCID record holds: the published name ("credit name") if the person set one,
    else given and family names; "" when the person keeps their name private."""
    name = (record.get("person") or {}).get("name") or {}

    def value(key: str) -> str:
        return " ".join(str(((name.get(key) or {}).get("value")) or "").split())

    return value("credit-name") or " ".join(part for part in (value("given-names"), value("family-name")) if part)


def prove(account: SocialAccount) -> None:
    """The member signed in with, or connected, this ORCID record."""
    orcid = normalise_orcid(account.uid)
    if account.provider != PROVIDER or orcid is None:
        return
    User.objects.get(pk=account.user_id).show_orcid(orcid, name_in_record(account.extra_data))


# Receivers of allauth's signals (connected in apps.py).


def on_connected(sender, request, sociallogin, **kwargs) -> None:
    """A record connected to an account, or signed in with again (its name may have changed)."""
    prove(sociallogin.account)


def on_signed_up(sender, request, user, sociallogin=None, **kwargs) -> None:
    if sociallogin is not None:
        prove(sociallogin.account)


def on_removed(sender, request, socialaccount, **kwargs) -> None:
    if socialaccount.provider != PROVIDER:
        return
    remaining = SocialAccount.objects.filter(user_id=socialaccount.user_id, provider=PROVIDER).first()
    if remaining is not None:  # another ORCID record stays connected: its iD is the verified one
        prove(remaining)
    else:
        User.objects.get(pk=socialaccount.user_id).forget_orcid_proof()

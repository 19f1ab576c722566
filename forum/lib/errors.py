"""Refusals a user should read; views turn them into messages beside the kept text."""


class DiscussionError(Exception):
    """A refusal the user should read."""


class ClosedError(DiscussionError):
    pass


class NotAllowed(DiscussionError):
    pass


class LinkError(DiscussionError):
    pass


class Refused(DiscussionError):
    """A defence or a policy refused a comment; `key` is what moderators see counted."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key

"""Errors that carry a message for the user, not a stack trace.

Entry points catch `UserError`, print its message and exit non-zero.
"""


class UserError(Exception):
    """A problem the user can fix: bad config, missing file, bad input."""


class WeightsUnavailableError(UserError):
    """Pretrained weights could not be found or downloaded."""

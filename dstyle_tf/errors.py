"""Errors that carry a message for the user, not a stack trace.

Entry points catch `UserError`, print its message and exit non-zero.
"""


class UserError(Exception):
    """A problem the user can fix: bad config, missing file, bad input."""


class WeightsUnavailableError(UserError):
    """Pretrained weights could not be found or downloaded."""


def check_choice(name, value, choices, error=ValueError):
    """Raises `error` with a one-line message unless `value` is in `choices`.

    Args:
        name: what the value is called in the message (an argument or a
            config field, e.g. `"padding"` or `"data.resize"`).
        value: the value given.
        choices: the accepted values, in the order the message lists them.
        error: the exception class; `UserError` for values a user typed.
    """
    if value not in choices:
        raise error(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}.")

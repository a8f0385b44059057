"""The one exception class for user-facing errors.

Library code raises :class:`MlsplabError` for anything a user can fix (a missing file, a bad
flag, a corrupt archive). The CLI catches it, prints its message on one line and exits with
status 2; anything else is a bug and keeps its traceback.
"""


class MlsplabError(Exception):
    """An error caused by the user's input or environment, with a message that says the fix."""

"""The CLI's one error type, and the translation of lower layers' typed errors into it."""

from __future__ import annotations


class CliError(Exception):
    """A problem with the user's input or environment, shown as one line on stderr."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code

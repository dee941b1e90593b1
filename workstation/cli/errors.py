"""The CLI's own error: a flag or an argument that cannot be used, found by the CLI itself.

Errors of the layers below are not converted into it; ``main`` prints them through the
error catalogue.
"""

from __future__ import annotations


class CliError(Exception):
    """A problem with the user's input or environment, shown as one line on stderr."""

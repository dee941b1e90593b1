"""Typed errors raised by ``audit/``: each class's docstring says what went wrong, in general.

The raise site writes the particular message; the workstation's error catalogue
(``workstation.messages``) turns any of them into one human message with a next step.
"""

from __future__ import annotations


class AuditError(Exception):
    """The audit core could not do what was asked."""


class RecoveryError(AuditError, ValueError):
    """The text could not be read as the expected structure."""


class EvaluationError(AuditError):
    """The evaluation cannot go on without losing track of items."""


class IntegrityError(EvaluationError):
    """The records do not account for every input item exactly once."""


class ConfigMismatchError(EvaluationError):
    """The output folder holds a run made with other settings; resuming would mix two runs."""

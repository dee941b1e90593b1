"""Typed errors of ``finetune/``: each class's docstring says what went wrong, in general.

They belong to the audit family, so the CLI and the app report them as one line each.
"""

from __future__ import annotations

from audit.errors import AuditError


class FinetuneError(AuditError):
    """The fine-tuning pipeline could not do what was asked."""


class CorpusError(FinetuneError):
    """The corpus could not be built, or a corpus folder is not one this pipeline wrote."""


class LossMaskError(FinetuneError):
    """The training labels are not exactly the assistant target and its end-of-turn token."""


class MergeVerificationError(FinetuneError):
    """The merged model failed verification and was not published."""


class GroundingRunError(FinetuneError):
    """A grounding run folder cannot be written or read without mixing two runs."""

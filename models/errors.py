"""Typed errors raised by ``models/``: each class's docstring says what went wrong, in general.

The raise site writes the particular message (which backend, which file, what to install);
the workstation's error catalogue (``workstation.messages``) turns any of them into one
human message with a next step, in the app and in the CLI alike.
"""

from __future__ import annotations


class ModelError(Exception):
    """A model backend could not be chosen, configured or run."""


class SettingsError(ModelError, ValueError):
    """The settings file or environment holds a value the auditor cannot use."""


class UnknownBackendError(ModelError, KeyError):
    """No backend of that kind has that name."""

    def __init__(self, kind: str, name: str, valid: list[str]) -> None:
        self.kind, self.name, self.valid = kind, name, valid
        super().__init__(f"unknown {kind} {name!r}; choose one of: {', '.join(valid)}")

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownProfileError(ModelError, KeyError):
    """No checkpoint profile has that name."""

    def __init__(self, name: str, valid: list[str]) -> None:
        self.name, self.valid = name, valid
        super().__init__(f"unknown checkpoint profile {name!r}; choose one of: {', '.join(valid)}")

    def __str__(self) -> str:
        return str(self.args[0])


class BackendUnavailableError(ModelError, RuntimeError):
    """The backend exists but cannot run here (a package or the weights are missing)."""


class MissingPackageError(BackendUnavailableError):
    """A package the model backend needs is not installed; the message says what to install."""


class NoCudaError(BackendUnavailableError):
    """No CUDA GPU is usable here and running on CPU was not allowed (or a GPU was asked for)."""


class InsufficientMemoryError(BackendUnavailableError):
    """The GPU (or RAM) has less free memory than loading the model needs."""


class ModelLoadError(BackendUnavailableError):
    """The weights, config or processor could not be loaded (wrong path, no access, bad files)."""


class EndpointUnavailableError(BackendUnavailableError):
    """The OpenAI-compatible endpoint could not be reached or kept failing."""


class EndpointResponseError(BackendUnavailableError):
    """The endpoint answered, but not with a chat completion (wrong URL, model name or key)."""


class FindingsFileError(BackendUnavailableError):
    """The findings file or folder is missing or unreadable."""


class BenchmarkDataError(ModelError, ValueError):
    """The gold-standard file is missing or does not have the expected columns."""

"""Errors raised while exporting or loading a model."""

from __future__ import annotations


class ExportError(RuntimeError):
    """An architecture, a state dict or a format that cannot be exported as asked."""


class WeightsError(ExportError, ValueError):
    """A weights file that is corrupt, not a plain state dict, or does not fit the model."""

"""What every contract needs: the thing it tests, and a file named beside the test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def required(contract: object, attr: str) -> Any:
    """``contract.attr``, what the contract tests; a test fails saying to set it if unset."""
    value = getattr(contract, attr, None)
    if value is None:
        pytest.fail(f"{type(contract).__name__} sets no `{attr}` to test")
    return value


def near_file(ref: str, near: Path | None) -> str:
    """``ref`` with its ``path.py`` made absolute when it is a file beside ``near`` (a
    test's folder); any other reference unchanged."""
    path, sep, name = ref.rpartition(":")
    if sep and path.endswith(".py") and near is not None and (near / path).is_file():
        return f"{near / path}:{name}"
    return ref

"""A search's settings checked before anything is stored: a wrong type or range is an
error naming the setting, never a traceback three calls later or a value saved into the
study that every later resume trips on."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable, Mapping
from pathlib import Path

from nas.pruners import PRUNERS


class ConfigError(ValueError):
    """A setting with a wrong type or value; ``key`` names it (as in ``SearchConfig``)."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def check_setting(key: str, value):
    """``value`` of setting ``key`` checked and normalized (a budget as text, workers
    "2" as 2); ``ConfigError`` naming the setting and what it must be. A name with no
    check is returned unchanged."""
    check = _CHECKS.get(key)
    if check is None:
        return value
    try:
        return check(key, value)
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(key, str(exc)) from None


def parse_workers(value) -> int | str:
    """Worker processes: a number >= 1, "auto" (one per GPU) or "auto:N" (N per GPU)."""
    text = str(value).strip() if isinstance(value, str | int) and \
        not isinstance(value, bool) else None
    if text is not None:
        if text.isdigit() and int(text) >= 1:
            return int(text)
        if text == "auto":
            return text
        head, _, per = text.partition(":")
        if head == "auto" and per.isdigit() and int(per) >= 1:
            return f"auto:{int(per)}"
    raise ValueError(f"workers must be a number >= 1, auto, or auto:N (N >= 1 processes per "
                     f"GPU), got {value!r}")


def _whole(minimum: int | None) -> Callable:
    def check(key: str, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or \
                (minimum is not None and value < minimum):
            at_least = f" >= {minimum}" if minimum is not None else ""
            raise ValueError(f"{key} must be a whole number{at_least}, got {value!r}")
        return int(value)

    return check


def _name(key: str, value):
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} must be a name (text), got {value!r}")
    return value


def _mapping(key: str, value):
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"{key} must be a mapping of option: value, got {value!r}")
    return dict(value)


def _budget(key: str, value):
    from nas.budget import Budget

    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Budget):
        raise ValueError(f"{key} must be a budget such as 300steps, 2epochs, 30s or "
                         f"1000steps,30s; got {value!r}")
    try:
        parsed = Budget.parse(value)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None
    return value if isinstance(value, str) else str(parsed)  # text: stored with the study


def _positive(key: str, value):
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{key} must be a positive number of seconds, got {value!r}")
    return float(value)


def _path(key: str, value):
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} must be a path (text), got {value!r}")
    return value


def _artifacts(key: str, value):
    """An artifact store (``nas.artifacts``): a folder, made absolute (every machine
    mounts it at one path), or s3://BUCKET; None: weights stay in the run folder."""
    from nas.artifacts import check_location

    if value is None:
        return None
    check_location(value)
    if "://" in value:
        return value
    return str(Path(value).expanduser().resolve())


def _trials(key: str, value):
    """A trial target (>= 1), or None: a search bounded by its timeout alone."""
    return None if value is None else _whole(1)(key, value)


def _seconds(key: str, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{key} must be a positive number of seconds, got {value!r}")
    return float(value)


def _pruner(key: str, value):
    if not isinstance(value, str) or value.lower() not in PRUNERS:
        raise ValueError(f"{key} must be one of {', '.join(PRUNERS)}, got {value!r}")
    return value.lower()


def _device(key: str, value):
    from nas.device import check_device

    if not isinstance(value, str):
        raise ValueError(f"{key} must be auto, cpu, cuda or cuda:N, got {value!r}")
    check_device(value)
    return value


def _workers(key: str, value):
    return parse_workers(value)


_CHECKS: dict[str, Callable] = {
    "space": _name, "task": _name, "strategy": _name,
    "trials": _trials, "keep_weights": _whole(0), "seed": _whole(None),
    "budget": _budget, "timeout": _seconds, "pruner": _pruner, "device": _device,
    "workers": _workers, "space_config": _mapping, "task_config": _mapping,
    "strategy_options": _mapping, "heartbeat_s": _positive, "stale_after_s": _positive,
    "weights_dir": _path, "data": _path, "artifacts": _artifacts,
}

__all__ = ["ConfigError", "check_setting", "parse_workers"]


def mode_of(cls, key: str, value, example: str):
    """A search mode's settings (``nas.OneShot``, ``nas.Differentiable``: dataclasses)
    from what a user gives: ``None``/``False`` (off: None), ``True`` (the defaults), a
    mapping of its settings or an instance, checked; anything else, or a mapping with
    an unknown key, is a ConfigError naming ``key``. ``example``: settings to name."""
    if value is None or value is False:
        return None
    if value is True:
        return cls()
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ConfigError(key, f"{key} has no setting {', '.join(unknown)} "
                                   f"(known: {', '.join(sorted(known))})")
        return cls(**dict(value))
    raise ConfigError(key, f"{key} must be true, false or a mapping of its settings "
                           f"({example}, ...), got {value!r}")

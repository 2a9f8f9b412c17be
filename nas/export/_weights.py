"""Weights files: a plain state dict saved with ``torch.save`` (and safetensors when present).

Reading never unpickles arbitrary objects: ``torch.load(weights_only=True)`` refuses
them, and every failure becomes a ``WeightsError`` naming the file.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import torch
from torch import nn

from nas.export._errors import WeightsError

WEIGHTS = "weights.pt"
SAFETENSORS = "weights.safetensors"


def has_safetensors() -> bool:
    return importlib.util.find_spec("safetensors") is not None


def plain_state_dict(module_or_dict: nn.Module | dict) -> dict[str, torch.Tensor]:
    """A detached, CPU, contiguous copy: what a weights file holds."""
    sd = module_or_dict.state_dict() if isinstance(module_or_dict, nn.Module) else module_or_dict
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in sd.items()}


def save_weights(state_dict: dict[str, torch.Tensor], folder: Path) -> list[str]:
    """Write weights.pt (and weights.safetensors when the package is installed)."""
    torch.save(state_dict, folder / WEIGHTS)
    written = [WEIGHTS]
    if has_safetensors():
        from safetensors.torch import save_file

        save_file(state_dict, str(folder / SAFETENSORS))
        written.append(SAFETENSORS)
    return written


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict in ``path`` (.pt or .safetensors); ``WeightsError`` if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file '{path}' does not exist")
    if path.suffix == ".safetensors":
        return _read_safetensors(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. pickle-protocol notes on a foreign file
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError...
        reason = ("it holds objects other than tensors, which are refused"
                  if "Unpickl" in type(exc).__name__ else "it is truncated or not a torch file")
        raise WeightsError(f"weights file '{path}' is corrupt or not a weights file: "
                           f"{reason} ({type(exc).__name__})") from None
    return _checked(data, path)


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    if not has_safetensors():
        raise WeightsError(f"'{path}' is a safetensors file; pip install safetensors to read it")
    from safetensors.torch import load_file

    try:
        data = load_file(str(path), device="cpu")
    except Exception as exc:
        raise WeightsError(f"weights file '{path}' is corrupt or not a weights file "
                           f"({type(exc).__name__}: {exc})") from None
    return _checked(data, path)


def _checked(data, path: Path) -> dict[str, torch.Tensor]:
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in data.items()):
        raise WeightsError(f"weights file '{path}' is not a weights file: expected a state "
                           f"dict (parameter name -> tensor), got {type(data).__name__}")
    return data


def apply_weights(model: nn.Module, state_dict: dict[str, torch.Tensor], source: str) -> None:
    """``load_state_dict(strict=True)``, with one error listing every mismatch first."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    shapes = [f"{k}: {tuple(state_dict[k].shape)} in the weights, {tuple(v.shape)} in the model"
              for k, v in expected.items() if k in state_dict and state_dict[k].shape != v.shape]
    problems = []
    if missing:
        problems.append(f"missing keys {_few(missing)}")
    if unexpected:
        problems.append(f"unexpected keys {_few(unexpected)}")
    if shapes:
        problems.append(f"shape mismatch {_few(shapes)}")
    if problems:
        raise WeightsError(f"{source} does not fit the model: " + "; ".join(problems))
    model.load_state_dict(state_dict, strict=True)


def _few(items: list[str], n: int = 5) -> str:
    shown = ", ".join(items[:n])
    return f"[{shown}{f', ... ({len(items) - n} more)' if len(items) > n else ''}]"

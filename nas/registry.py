"""Registries of search spaces and tasks (and the loader for a ``file.py:function`` space)."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from nas._domain import SpaceError
from nas._plugins import load_plugins
from nas._registry import Registry
from nas.ops import Shape, TensorSpec
from nas.space import Space, SpaceFn

_SPACES: Registry[SpaceFn] = Registry(
    "search space", error=SpaceError,
    unknown="unknown {kind} '{name}'{hint} (registered: {registered}; a space in a file is "
            "given as path/to/file.py:function)")
_IO: dict[str, tuple] = {}
DEFAULT_IO = ((1, 40), 10)  # mnist1d: one channel of length 40, 10 classes


def register_space(name: str, in_shape: Shape | TensorSpec | None = None,
                   n_out: int | None = None):
    """Decorator registering a space function under ``name``; a duplicate name raises.

    ``in_shape`` / ``n_out`` are the space's example I/O, used when ``get_space`` is
    called without them (and by the contract tests); they default to mnist1d's.
    """

    def deco(fn: SpaceFn) -> SpaceFn:
        _SPACES.register(name, fn)
        _IO[name] = (in_shape if in_shape is not None else DEFAULT_IO[0],
                     n_out if n_out is not None else DEFAULT_IO[1])
        return fn

    return deco


def list_spaces() -> list[str]:
    """The registered spaces' names, sorted (plugins loaded)."""
    return _SPACES.names()


def space_doc(name: str) -> str:
    """The first line of a registered space's docstring."""
    return _SPACES.doc(name)


def get_space(name: str, in_shape: Shape | TensorSpec | None = None, n_out: int | None = None,
              **config) -> Space:
    """A registered space (or ``path/to/file.py:function``) bound to a task's I/O.

    Without ``in_shape`` / ``n_out`` the space's registered example I/O is used.
    """
    load_plugins()  # before a space file, which may use a plugin's ops
    if name.startswith("grow:"):  # a GraphSpace of a model file (nas.graphspace)
        from nas.graphspace._seed import file_space

        return file_space(name[len("grow:"):], in_shape, n_out, **config)
    if ":" in name and name.split(":", 1)[0].endswith(".py"):
        in_shape = DEFAULT_IO[0] if in_shape is None else in_shape
        n_out = DEFAULT_IO[1] if n_out is None else n_out
        return Space(load_space_fn(name), in_shape, n_out, name=name, **config)
    fn = _SPACES.get(name)
    if isinstance(fn, Space):  # registered bound (a nas.GraphSpace of a model): as it is
        return check_bound_io(fn, in_shape, n_out)
    in_shape = _IO[name][0] if in_shape is None else in_shape
    n_out = _IO[name][1] if n_out is None else n_out
    return Space(fn, in_shape, n_out, name=name, **config)


def load_space_fn(ref: str) -> SpaceFn:
    """Import ``function`` from ``path/to/file.py`` given as ``path/to/file.py:function``.

    Each file is imported once per process (keyed by its resolved path), so a file that
    registers spaces or ops at import time can be named again (``nas search`` binds the
    space twice: to check it, then to search).
    """
    path_text, _, fn_name = ref.rpartition(":")
    path = Path(path_text)
    if not path.is_file():
        raise SpaceError(f"space file '{path}' does not exist")
    module = _import_file(path)
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        found = [k for k, v in vars(module).items() if callable(v) and not k.startswith("_")]
        raise SpaceError(f"'{path}' has no function '{fn_name}' (functions there: "
                         f"{', '.join(found) or 'none'})")
    return fn


def _import_file(path: Path) -> ModuleType:
    """The module of a user's file, imported on first use; the name is a stable digest of
    its resolved path (never ``hash()``, which differs between processes)."""
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    mod_name = f"_nas_user_space_{digest}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(mod_name, None)  # a corrected file is imported afresh
        raise SpaceError(f"importing space file '{path}' failed: {type(exc).__name__}: "
                         f"{exc}") from exc
    return module


# ---------------------------------------------------------------------------- tasks
_TASKS: Registry = Registry("task")


def register_task(name: str):
    """Decorator registering a task factory (a class or function taking ``**config``).

    A task named ``csv`` is also reachable as ``csv:ARG``: the factory then gets the
    text after the colon as its first argument (``get_task("csv:data.csv", target="y")``).
    """
    return _TASKS.register(name)


def list_tasks() -> list[str]:
    """The registered tasks' names, sorted (plugins loaded)."""
    return _TASKS.names()


def task_doc(name: str) -> str:
    """The first line of a registered task's docstring."""
    return _TASKS.doc(name)


def task_options(name: str) -> dict:
    """The keyword options a registered task takes, with their defaults (what
    ``get_task(name, **options)``, ``task_config`` and ``--task-option`` accept); the
    first, also given as ``name:VALUE`` (``csv:data.csv``), comes first."""
    import inspect

    params = inspect.signature(_TASKS.get(name)).parameters.values()
    return {p.name: p.default for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def get_task(name: str, **config):
    """A task instance by name (``name`` or ``name:ARG``), built with ``config``."""
    base, _, arg = name.partition(":")
    factory = _TASKS.get(base, shown=name)
    if not arg:
        return factory(**config)
    try:
        return factory(arg, **config)
    except TypeError as exc:  # an ARG of the wrong kind, or a task that takes none
        raise ValueError(f"task '{base}' cannot take ':{arg}' ({exc}); `nas tasks` says "
                         f"what each task takes") from None


def check_bound_io(space: Space, in_shape, n_out: int | None) -> Space:
    """``space`` (bound to its own I/O) when it fits the task's, else a SpaceError."""
    def shape(spec):
        return None if spec is None else tuple(getattr(spec, "shape", spec))

    if in_shape is not None and shape(in_shape) != shape(space.in_shape) or \
            n_out is not None and n_out != space.n_out:
        raise SpaceError(f"space '{space.name}' takes inputs {shape(space.in_shape)} and "
                         f"gives {space.n_out} outputs, the task has {shape(in_shape)} and "
                         f"{n_out}: trace the model on inputs of the task's shape")
    return space

"""Copy the source of custom module classes, and of the helpers they use, into model.py.

For each class we take its top-level definition from its module's source and scan the
compiled code for the global names it loads (``LOAD_GLOBAL`` / ``LOAD_NAME``, the precise
part of ``co_names``). A name defined at the top level of the same module (a function,
class or constant) is copied too, transitively; a name bound to ``torch`` or ``math``
becomes an import; builtins need nothing. Anything else cannot be standalone and raises.
"""

from __future__ import annotations
import __future__

import ast
import builtins
import dis
import inspect
import sys
import types
from dataclasses import dataclass, field
from functools import cache

from nas.export._errors import ExportError

ALLOWED_ROOTS = ("torch", "math")
_LOADS = {"LOAD_GLOBAL", "LOAD_NAME"}


@dataclass
class _Definition:
    module: str
    name: str
    lineno: int
    source: str
    eager: set[str] = field(default_factory=set)  # names needed when the definition runs
    lazy: set[str] = field(default_factory=set)  # names needed only when called


@cache
def _top_level(module_name: str) -> dict[str, ast.stmt]:
    """Name -> the top-level statement defining it in ``module_name``."""
    module = sys.modules[module_name]
    tree = ast.parse(inspect.getsource(module))
    defs: dict[str, ast.stmt] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defs[stmt.name] = stmt
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    defs[target.id] = stmt
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            defs[stmt.target.id] = stmt
    return defs


@cache
def _module_lines(module_name: str) -> tuple[str, ...]:
    return tuple(inspect.getsource(sys.modules[module_name]).splitlines())


def _loads(code: types.CodeType, eager: set[str], lazy: set[str], top: bool = True) -> None:
    """Global names loaded by ``code``: eager when they run with the definition itself."""
    for ins in dis.get_instructions(code):
        if ins.opname in _LOADS and not ins.argval.startswith("__"):
            (eager if top else lazy).add(ins.argval)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            # class bodies and comprehensions run at once; function bodies when called
            runs_now = (not const.co_flags & inspect.CO_OPTIMIZED
                        or const.co_name.startswith("<") and const.co_name != "<lambda>")
            _loads(const, eager, lazy, top and runs_now)


def _definition(module_name: str, name: str) -> _Definition:
    stmt = _top_level(module_name).get(name)
    if stmt is None:
        raise KeyError(name)
    start = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
    lines = _module_lines(module_name)[start - 1: stmt.end_lineno]
    source = "\n".join(lines)
    code = compile(source, f"<{module_name}.{name}>", "exec",
                   flags=__future__.annotations.compiler_flag, dont_inherit=True)
    d = _Definition(module_name, name, start, source)
    _loads(code, d.eager, d.lazy)
    return d


def _import_line(alias: str, value) -> str | None:
    """The import binding ``alias`` to ``value`` (a torch or math module or object)."""
    if isinstance(value, types.ModuleType):
        full = value.__name__
        if full.split(".")[0] not in ALLOWED_ROOTS:
            return None
        if full == alias:
            return f"import {full}"
        parent, _, last = full.rpartition(".")
        if not parent:
            return f"import {full} as {alias}"
        return f"from {parent} import {last}" + ("" if last == alias else f" as {alias}")
    home = getattr(value, "__module__", None) or ""
    if home.split(".")[0] not in ALLOWED_ROOTS or home not in sys.modules:
        return None
    real = getattr(value, "__name__", alias)
    if getattr(sys.modules[home], real, None) is not value:
        return None
    return f"from {home} import {real}" + ("" if real == alias else f" as {alias}")


class SourceCollector:
    """Gathers the definitions and imports that a set of classes needs, in a valid order."""

    def __init__(self) -> None:
        self.imports: set[str] = set()
        self._defs: dict[tuple[str, str], _Definition] = {}
        self._names: dict[str, tuple[str, str]] = {}  # emitted name -> (module, name)

    def add_class(self, cls: type) -> None:
        self._add(cls.__module__, cls.__name__, what=f"class {cls.__qualname__}")

    def _add(self, module_name: str, name: str, what: str) -> None:
        key = (module_name, name)
        if key in self._defs:
            return
        if name in self._names and self._names[name] != key:
            other = ".".join(self._names[name])
            raise ExportError(f"two definitions named '{name}' are needed in model.py "
                              f"({other} and {module_name}.{name}); rename one of them")
        try:
            d = _definition(module_name, name)
        except (KeyError, OSError, TypeError) as exc:
            raise ExportError(f"cannot find the source of {what} in {module_name}: "
                              f"{exc!r}") from None
        self._defs[key] = d
        self._names[name] = key
        for ref in sorted(d.eager | d.lazy):
            self._resolve(module_name, ref, name)

    def _resolve(self, module_name: str, ref: str, user: str) -> None:
        module = sys.modules[module_name]
        if ref in _top_level(module_name):
            self._add(module_name, ref, what=f"'{ref}'")
            return
        if ref not in vars(module):
            if hasattr(builtins, ref):
                return
            raise ExportError(f"'{user}' in {module_name} uses '{ref}', which is not defined "
                              "at the top level of its module")
        value = vars(module)[ref]
        line = _import_line(ref, value)
        if line is not None:
            self.imports.add(line)
            return
        home = getattr(value, "__module__", None)
        if (isinstance(value, type | types.FunctionType) and home in sys.modules
                and value.__name__ == ref):  # imported from another module of ours
            self._add(home, ref, what=f"'{ref}'")
            return
        raise ExportError(f"'{user}' in {module_name} uses '{ref}' ({type(value).__name__}), "
                          f"which model.py cannot carry: it may import only "
                          f"{' and '.join(ALLOWED_ROOTS)}")

    def definitions(self) -> list[_Definition]:
        """Definitions in source order, moved after whatever they need when they run."""
        rank = {}
        for module_name, _ in self._defs:
            rank.setdefault(module_name, len(rank))
        pending = sorted(self._defs.values(), key=lambda d: (rank[d.module], d.lineno))
        done: set[str] = set()
        out = []
        while pending:
            for i, d in enumerate(pending):
                if all(n in done or n not in self._names or n == d.name for n in d.eager):
                    out.append(pending.pop(i))
                    done.add(d.name)
                    break
            else:  # a cycle among definitions; keep source order
                out.extend(pending)
                break
        return out

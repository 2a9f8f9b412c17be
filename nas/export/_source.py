"""``to_source``: an ArchGraph as readable, standalone PyTorch source (imports torch only)."""

from __future__ import annotations

import keyword

from nas.export import (  # noqa: F401  (the rules register themselves on import)
    _rules_basic,
    _rules_conv,
    _rules_graph,
    _rules_sequence,
)
from nas.export._codegen import Construct, fmt, get_codegen
from nas.export._collect import SourceCollector
from nas.export._errors import ExportError
from nas.export._shapes import input_text, lead_axis, lead_of, shape_text
from nas.graph import ArchGraph

WIDTH = 99
_BASE_IMPORTS = {"import torch", "from torch import nn"}


def to_source(graph: ArchGraph, class_name: str = "Model") -> str:
    """Python source of a module computing ``graph``, with nothing but torch to import.

    The custom classes the nodes use are copied in (with the helpers they call), then
    ``class <class_name>(nn.Module)``: one submodule per node, named after the node id
    (so the compiled ``GraphModule``'s state dict loads into it strictly), a
    straight-line ``forward`` with a shape comment per line, and ``build()``.
    """
    shapes = graph.infer_shapes()  # validates; raises naming the node
    order = graph.topological_order()
    constructs: dict[str, Construct] = {}
    collector = SourceCollector()
    for nid in order:
        node = graph.node(nid)
        rule = get_codegen(node.op, node=nid)
        try:
            constructs[nid] = rule(node.params, [shapes[i] for i in node.inputs])
        except (ValueError, TypeError, KeyError) as exc:
            raise ExportError(f"node '{nid}': the codegen rule of op '{node.op}' failed: "
                              f"{exc}") from None
        for cls in constructs[nid].classes:
            collector.add_class(cls)
    definitions = collector.definitions()
    taken = {d.name for d in definitions} | {"build", "torch", "nn", "math", "F"}
    if not class_name.isidentifier() or keyword.iskeyword(class_name) or class_name in taken:
        raise ExportError(f"class_name {class_name!r} must be an identifier not used in "
                          f"model.py (taken: {sorted(taken)})")
    imports = _imports(collector.imports | _BASE_IMPORTS)
    parts = [f"{_header(graph, class_name)}\n\n{imports}"]
    parts += [d.source for d in definitions]
    parts.append(_model_class(graph, class_name, order, shapes, constructs))
    parts.append(f'def build() -> {class_name}:\n'
                 f'    """A freshly initialized {class_name}; load trained weights with '
                 f'load_state_dict."""\n'
                 f'    return {class_name}()')
    return "\n\n\n".join(parts) + "\n"


# --------------------------------------------------------------------- file sections


def _header(graph: ArchGraph, class_name: str) -> str:
    ins = ", ".join(f"{n} {input_text(s, lead_axis(graph))}" for n, s in graph.inputs.items())
    return (f'"""{class_name}: a standalone PyTorch module exported by nas-toolkit.\n\n'
            f"Architecture {graph.fingerprint()}, {len(graph)} ops. It needs only torch:\n\n"
            f"    import torch\n"
            f"    from model import build\n\n"
            f"    model = build()\n"
            f'    model.load_state_dict(torch.load("weights.pt", weights_only=True))\n'
            f"    model.eval()\n\n"
            f"Inputs: {ins}.\n"
            f'"""\n\n'
            f"from __future__ import annotations")


def _imports(lines: set[str]) -> str:
    std = sorted(x for x in lines if x.split()[1].split(".")[0] not in ("torch",))
    torch_lines = sorted(x for x in lines if x not in std)
    return "\n\n".join(group for group in ("\n".join(std), "\n".join(
        sorted(torch_lines, key=lambda x: (x.startswith("from"), x)))) if group)


def _model_class(graph: ArchGraph, class_name: str, order: list[str], shapes: dict,
                 constructs: dict[str, Construct]) -> str:
    inputs, outputs = list(graph.inputs), graph.outputs
    lead = lead_axis(graph)
    ids = set(inputs) | set(order)
    reg = next(r for r in ("h", "h_", "h__", "h___") if r not in ids)

    def local(nid: str) -> str:
        return f"{nid}_" if nid == "self" else nid

    names = {n: local(n) for n in inputs}
    args = [f"{names[n]}: torch.Tensor" for n in inputs]
    ret = "torch.Tensor" if len(outputs) == 1 else (
        "tuple[" + ", ".join(["torch.Tensor"] * len(outputs)) + "]")
    out_text = ", ".join(f"{name} {shape_text(lead_of(graph, src, lead), shapes[src])}"
                         for name, src in outputs.items())
    in_text = ", ".join(f"{n} {input_text(s, lead)}" for n, s in graph.inputs.items())
    lines = [f"class {class_name}(nn.Module):",
             f'    """Inputs {in_text}; outputs {out_text}."""',
             "",
             f"    input_names = {fmt(tuple(inputs))}",
             f"    output_names = {fmt(tuple(outputs))}",
             "",
             "    def __init__(self) -> None:",
             "        super().__init__()"]
    for nid in order:
        lines += _wrap(f"self.{nid} = ", constructs[nid].expr, " " * 8)
    signature = f"    def forward(self, {', '.join(args)}) -> {ret}:"
    if len(signature) > WIDTH:
        signature = "\n".join(["    def forward(", *(f"        {a}," for a in ["self", *args]),
                               f"    ) -> {ret}:"])
    lines += ["", signature]
    # one line per node; a value used only by the next line lives in the running variable
    # `reg`, every other value in a variable named after its node
    position = {n: i for i, n in enumerate(order)}
    uses: dict[str, list[int]] = {n: [] for n in ids}
    for nid in order:
        for src in graph.node(nid).inputs:
            uses[src].append(position[nid])
    for src in outputs.values():
        uses[src].append(len(order))
    for i, nid in enumerate(order):
        call_args = ", ".join(names[s] for s in graph.node(nid).inputs)
        names[nid] = reg if uses[nid] == [i + 1] else local(nid)
        shape = shape_text(lead_of(graph, nid, lead), shapes[nid])
        lines.append(f"        {names[nid]} = self.{nid}({call_args})  # {shape}")
    results = [names[src] for src in outputs.values()]
    if len(results) == 1:
        lines.append(f"        return {results[0]}  # {next(iter(outputs))}")
    else:
        lines.append(f"        return {', '.join(results)}  # ({', '.join(outputs)})")
    return "\n".join(lines)


# --------------------------------------------------------------------- line wrapping


def _wrap(prefix: str, expr: str, indent: str, suffix: str = "") -> list[str]:
    """``indent + prefix + expr + suffix``; when too long, the call's arguments go on the
    next lines (filled up to the width; an argument too long itself is wrapped too)."""
    line = f"{indent}{prefix}{expr}{suffix}"
    split = _outer(expr)
    if len(line) <= WIDTH or split is None:
        return [line]
    head, inner, close = split
    args = _split_args(inner)
    if len(args) == 1 and args[0][:1] in "[(" and (sub := _outer(args[0])) is not None:
        head, args, close = head + sub[0], _split_args(sub[1]), sub[2] + close  # hug `([`
    inner_indent = indent + "    "
    lines, cur = [f"{indent}{prefix}{head}"], ""
    for arg in args:
        piece = f"{arg},"
        if len(inner_indent + piece) > WIDTH:
            if cur:
                lines.append(inner_indent + cur)
                cur = ""
            lines += _wrap("", arg, inner_indent, suffix=",")
        elif cur and len(f"{inner_indent}{cur} {piece}") > WIDTH:
            lines.append(inner_indent + cur)
            cur = piece
        else:
            cur = f"{cur} {piece}" if cur else piece
    if cur:
        lines.append(inner_indent + cur)
    lines.append(f"{indent}{close}{suffix}")
    return lines


def _outer(expr: str) -> tuple[str, str, str] | None:
    """``f(a, b)`` -> ("f(", "a, b", ")"), when the first bracket closes at the end."""
    depth, quote, start = 0, None, None
    for i, ch in enumerate(expr):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            if depth == 0 and start is None:
                start = i
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0 and start is not None:
                return (expr[:start + 1], expr[start + 1:i], expr[i:]) if i == len(expr) - 1 \
                    else None
    return None


def _split_args(inner: str) -> list[str]:
    out, depth, quote, cur = [], 0, None, ""
    for ch in inner:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out

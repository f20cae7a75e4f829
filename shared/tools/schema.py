"""A function's signature and the JSON schema of its parameters, read from its ``ast`` alone.

The tool is never imported: type hints are read as syntax. ``int``/``float``/``str``/``bool``,
``None``, ``list[X]``, ``tuple[...]``, ``set[X]``, ``dict[str, X]``, ``X | None``,
``Optional[X]``, ``Union[...]``, ``Literal[...]`` and ``Any`` map to JSON schema; anything else
becomes an unconstrained value. Defaults that are literals become ``default``; parameters
without a default are ``required``. ``Args:`` lines of a Google-style docstring become
descriptions.
"""

from __future__ import annotations

import ast
import re
from typing import Any

_SCALARS = {"int": "integer", "float": "number", "str": "string", "bool": "boolean", "None": "null"}
_ARRAYS = {"list", "List", "tuple", "Tuple", "set", "Set", "frozenset", "Sequence", "Iterable"}
_OBJECTS = {"dict", "Dict", "Mapping"}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # typing.List
        return node.attr
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return ""


def _items(node: ast.expr) -> list[ast.expr]:
    return list(node.elts) if isinstance(node, ast.Tuple) else [node]


def annotation_schema(node: ast.expr | None) -> dict[str, Any]:
    """JSON schema for one annotation (``{}`` when it says nothing usable)."""
    if node is None:
        return {}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a string annotation
        try:
            return annotation_schema(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            return {}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([node.left, node.right])
    name = _name(node.value if isinstance(node, ast.Subscript) else node)
    if not isinstance(node, ast.Subscript):
        if name in _SCALARS:
            return {"type": _SCALARS[name]}
        if name in _ARRAYS:
            return {"type": "array"}
        if name in _OBJECTS:
            return {"type": "object"}
        return {}
    args = _items(node.slice)
    if name in ("Optional",):
        return _union([args[0], ast.Constant(None)])
    if name == "Union":
        return _union(args)
    if name == "Literal":
        values = [a.value for a in args if isinstance(a, ast.Constant)]
        return {"enum": values}
    if name in _ARRAYS:
        if name in ("tuple", "Tuple") and not (len(args) == 2 and isinstance(args[1], ast.Constant)
                                              and args[1].value is Ellipsis):
            return {"type": "array", "prefixItems": [annotation_schema(a) for a in args],
                    "minItems": len(args), "maxItems": len(args)}
        return {"type": "array", "items": annotation_schema(args[0])}
    if name in _OBJECTS:
        value = annotation_schema(args[1]) if len(args) == 2 else {}
        return {"type": "object", "additionalProperties": value} if value else {"type": "object"}
    return {}


def _union(parts: list[ast.expr]) -> dict[str, Any]:
    flat: list[dict[str, Any]] = []
    for part in parts:
        schema = annotation_schema(part)
        if not schema:
            return {}
        flat.extend(schema["anyOf"] if "anyOf" in schema else [schema])
    return {"anyOf": flat}


def _arg_docs(docstring: str) -> dict[str, str]:
    """``name: text`` lines of an ``Args:`` section."""
    docs: dict[str, str] = {}
    section = re.split(r"^\s*(?:Args|Arguments|Parameters):\s*$", docstring, maxsplit=1, flags=re.M)
    if len(section) == 2:
        for m in re.finditer(r"^\s+(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$", section[1], re.M):
            docs.setdefault(m.group(1), m.group(2).strip())
    return docs


def parameters_schema(func: ast.FunctionDef) -> dict[str, Any]:
    """The ``{"type": "object", ...}`` schema of ``func``'s keyword-callable parameters."""
    docs = _arg_docs(ast.get_docstring(func) or "")
    params = [*func.args.args, *func.args.kwonlyargs]
    defaults: dict[str, ast.expr] = dict(zip([a.arg for a in func.args.args][::-1],
                                             func.args.defaults[::-1], strict=False))
    defaults.update({a.arg: d for a, d in zip(func.args.kwonlyargs, func.args.kw_defaults, strict=True) if d})
    properties: dict[str, Any] = {}
    required: list[str] = []
    for arg in params:
        prop = annotation_schema(arg.annotation)
        if arg.arg in docs:
            prop = {**prop, "description": docs[arg.arg]}
        if arg.arg in defaults:
            try:
                prop = {**prop, "default": ast.literal_eval(defaults[arg.arg])}
            except ValueError:
                pass
        else:
            required.append(arg.arg)
        properties[arg.arg] = prop
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def signature_text(func: ast.FunctionDef) -> str:
    """``name(a: int, b: str = 'x') -> bool`` as written."""
    return f"{func.name}({ast.unparse(func.args)})" + (f" -> {ast.unparse(func.returns)}" if func.returns else "")


def summary(docstring: str) -> str:
    """The docstring's first paragraph on one line (the tool's description)."""
    return " ".join(docstring.strip().split("\n\n", 1)[0].split())

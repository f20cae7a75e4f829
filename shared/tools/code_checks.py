"""Refuse, before any sandbox run, code that is not one clean public tool function.

``check_tool_code(code, allowed_imports)`` parses the module with ``ast`` (never imports it)
and returns a ``CheckedTool`` or raises ``CodeRejected`` whose message is written to be fed
back to BRICK as-is. A module is accepted when it holds, at top level, only: a docstring,
imports of allow-listed modules, exactly one public function (type-hinted, with a docstring,
callable by keyword), private helper functions or classes, constant assignments, and its tests
under ``if __name__ == "__main__":``. Dunder tricks (``__class__``, ``__subclasses__``,
``__import__``...), ``eval``/``exec``/``compile`` and friends are refused anywhere. The sandbox
is what contains hostile code; these checks keep the registry clean and the feedback precise.
"""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.errors import CodeRejected
from shared.tools.schema import parameters_schema, signature_text

TOOL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
FORBIDDEN_CALLS = frozenset({"eval", "exec", "compile", "__import__", "globals", "locals", "vars",
                             "breakpoint", "input", "help", "exit", "quit"})
ALLOWED_DUNDERS = frozenset({"__name__", "__main__", "__doc__", "__init__", "__repr__", "__str__", "__eq__",
                             "__hash__", "__lt__", "__le__", "__gt__", "__ge__", "__len__", "__iter__",
                             "__post_init__", "__slots__"})


@dataclass(frozen=True)
class CheckedTool:
    """What the registry stores about an accepted module."""

    name: str
    source: str
    signature: str
    docstring: str
    parameters: dict[str, Any]


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    parts = [node.test.left, *node.test.comparators]
    names = {p.id for p in parts if isinstance(p, ast.Name)}
    consts = {p.value for p in parts if isinstance(p, ast.Constant)}
    return names == {"__name__"} and consts == {"__main__"} and isinstance(node.test.ops[0], ast.Eq)


def _check_names(tree: ast.Module, allowed_imports: Iterable[str]) -> None:
    allowed = set(allowed_imports)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", "?")
        if isinstance(node, ast.Import | ast.ImportFrom):
            if isinstance(node, ast.ImportFrom) and (node.level or not node.module):
                raise CodeRejected(f"line {line}: relative imports are not allowed")
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[0] not in allowed:
                    raise CodeRejected(
                        f"line {line}: import of {module!r} is not allowed; "
                        f"use only the standard modules {', '.join(sorted(allowed))}")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_CALLS:
            raise CodeRejected(f"line {line}: {node.id!r} is not allowed in a tool")
        ident = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
        if ident and ident.startswith("__") and ident.endswith("__") and ident not in ALLOWED_DUNDERS:
            raise CodeRejected(f"line {line}: the dunder name {ident!r} is not allowed in a tool")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"__\w+__", node.value) \
                and node.value not in ALLOWED_DUNDERS:
            raise CodeRejected(f"line {line}: the string {node.value!r} looks like a dunder trick")


def _top_level(tree: ast.Module) -> tuple[list[ast.FunctionDef], bool]:
    public: list[ast.FunctionDef] = []
    has_tests = False
    for index, node in enumerate(tree.body):
        if index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            continue  # the module docstring
        if isinstance(node, ast.AsyncFunctionDef) and not node.name.startswith("_"):
            raise CodeRejected(f"line {node.lineno}: {node.name} must be a plain `def`, not `async def`")
        if isinstance(node, ast.FunctionDef):
            if not node.name.startswith("_"):
                public.append(node)
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            raise CodeRejected(f"line {node.lineno}: public class {node.name}: the module must expose only "
                               "one public function (prefix helper classes with _)")
        elif isinstance(node, ast.If) and _is_main_guard(node):
            has_tests = has_tests or bool(node.body)
        elif not isinstance(node, ast.Import | ast.ImportFrom | ast.Assign | ast.AnnAssign
                            | ast.ClassDef | ast.AsyncFunctionDef):
            raise CodeRejected(f"line {node.lineno}: top-level {type(node).__name__} statement; put the "
                               "tests under if __name__ == \"__main__\": and nothing else at top level")
    return public, has_tests


def _check_function(func: ast.FunctionDef) -> None:
    if not TOOL_NAME.match(func.name) or keyword.iskeyword(func.name):
        raise CodeRejected(f"function name {func.name!r} must be snake_case ASCII, at most 64 characters")
    if func.decorator_list:
        raise CodeRejected(f"line {func.lineno}: {func.name} must not be decorated")
    args = func.args
    if args.vararg or args.kwarg or args.posonlyargs:
        raise CodeRejected(f"{func.name}: no *args, **kwargs or positional-only parameters "
                           "(the tool is called with named JSON arguments)")
    for arg in [*args.args, *args.kwonlyargs]:
        if arg.annotation is None:
            raise CodeRejected(f"{func.name}: parameter {arg.arg!r} needs a type hint")
    if func.returns is None:
        raise CodeRejected(f"{func.name}: add a return type hint")
    if not ast.get_docstring(func):
        raise CodeRejected(f"{func.name}: add a docstring saying what the tool does")


def check_tool_code(code: str, allowed_imports: Iterable[str], *, expected_name: str | None = None) -> CheckedTool:
    """Accept ``code`` as a tool module, or raise ``CodeRejected`` with the reason."""
    if not code.strip():
        raise CodeRejected("no Python code found; answer with the module in one ```python block")
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise CodeRejected(f"syntax error at line {exc.lineno}: {exc.msg}: {(exc.text or '').strip()!r}") from exc
    public, has_tests = _top_level(tree)
    if not public:
        raise CodeRejected("no public function found; define exactly one function (no leading underscore)")
    if len(public) > 1:
        names = ", ".join(f.name for f in public)
        raise CodeRejected(f"{len(public)} public functions ({names}); define exactly one public function "
                           "and prefix helpers with _")
    func = public[0]
    if expected_name and func.name != expected_name:
        raise CodeRejected(f"the function must be named {expected_name!r}, not {func.name!r}")
    _check_function(func)
    _check_names(tree, allowed_imports)
    if not has_tests:
        raise CodeRejected("no tests: add asserts that exercise the function under if __name__ == \"__main__\":")
    return CheckedTool(func.name, code, signature_text(func), ast.get_docstring(func) or "",
                       parameters_schema(func))

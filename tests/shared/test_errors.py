"""The error tree: drawn in full in ``shared.errors``' docstring, and the drawing is the code."""

from __future__ import annotations

import inspect
import re

import pytest

from shared import errors
from shared.errors import BatosError, NotFound, ToolRaised

BRANCH = re.compile(r"^    (?P<indent>(?:[│ ]   )*)(?:[├└]── )?(?P<name>[A-Z]\w+)\b")


def drawn_tree() -> dict[str, str | None]:
    """Each class drawn in the docstring, with the class drawn as its parent."""
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        match = BRANCH.match(line)
        if not match or not (line.startswith("    BatosError") or "── " in line):
            continue
        depth = len(match["indent"]) // 4 + (1 if "── " in line else 0)
        del stack[depth:]
        parents[match["name"]] = stack[-1] if stack else None
        stack.append(match["name"])
    return parents


def defined() -> dict[str, type[BaseException]]:
    return {name: cls for name, cls in vars(errors).items()
            if inspect.isclass(cls) and issubclass(cls, BaseException) and cls.__module__ == errors.__name__}


def test_every_error_is_drawn_under_its_real_parent() -> None:
    drawn, classes = drawn_tree(), defined()
    assert set(drawn) == set(classes)  # nothing defined and not drawn, nothing drawn and not defined
    assert drawn["BatosError"] is None
    for name, parent in drawn.items():
        if parent is not None:
            assert classes[name].__bases__ == (classes[parent],), name


def test_every_error_is_a_batos_error_with_a_docstring() -> None:
    for name, cls in defined().items():
        assert issubclass(cls, BatosError), name
        assert cls is BatosError or cls.__doc__ != BatosError.__doc__, name


@pytest.mark.parametrize("moved", ["CodeRejected", "SandboxUnavailable", "TrainingError", "DatasetError",
                                   "BaseModelError", "BackendUnavailableError", "OutputExistsError",
                                   "TrainingFailed", "ModelCreationError", "UnsupportedArchitecture",
                                   "EvaluationError"])
def test_no_error_class_is_defined_outside_the_tree(moved: str) -> None:
    """The classes that used to live in the workers are the tree's own (same name: same messages)."""
    from shared import tools
    from workers.fine_tune import evaluation, ollama_model, train_process, training
    from workers.tool_forge import attempt

    for module in (tools, evaluation, ollama_model, train_process, training, attempt):
        found = getattr(module, moved, None)
        assert found is None or found is getattr(errors, moved), (module.__name__, moved)


def test_detail_is_the_message_unless_given() -> None:
    plain = NotFound("no tool 'x'")
    assert plain.detail is None and str(plain) == "no tool 'x'"
    record = {"tool": "x", "error_type": "ValueError"}
    raised = ToolRaised("boom").with_detail(record)
    assert raised.detail == record and str(raised) == "boom"
    assert ToolRaised("again").detail is None  # set on the one error, not its class

"""Parameter schemas and signatures from type hints, read with ast (never imported)."""

from __future__ import annotations

import ast

from shared.tools.schema import annotation_schema, parameters_schema, signature_text


def schema_of(annotation: str) -> dict:
    return annotation_schema(ast.parse(annotation, mode="eval").body)


def test_scalars_and_containers() -> None:
    assert schema_of("int") == {"type": "integer"}
    assert schema_of("float") == {"type": "number"}
    assert schema_of("str") == {"type": "string"}
    assert schema_of("bool") == {"type": "boolean"}
    assert schema_of("list[int]") == {"type": "array", "items": {"type": "integer"}}
    assert schema_of("typing.List[str]") == {"type": "array", "items": {"type": "string"}}
    assert schema_of("dict[str, float]") == {"type": "object", "additionalProperties": {"type": "number"}}
    assert schema_of("dict") == {"type": "object"}
    assert schema_of("tuple[int, ...]") == {"type": "array", "items": {"type": "integer"}}
    assert schema_of("tuple[int, str]")["prefixItems"] == [{"type": "integer"}, {"type": "string"}]


def test_unions_optionals_literals_and_unknowns() -> None:
    assert schema_of("int | None") == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert schema_of("Optional[str]") == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert schema_of("Union[int, str]") == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert schema_of("Literal['a', 'b']") == {"enum": ["a", "b"]}
    assert schema_of("'int'") == {"type": "integer"}  # a string annotation
    assert schema_of("Any") == {}
    assert schema_of("SomeClass") == {}
    assert schema_of("int | SomeClass") == {}  # a union with an unknown member says nothing


def test_parameters_defaults_required_and_docs() -> None:
    func = ast.parse('''
def f(text: str, limit: int = 3, *, mode: Literal["a", "b"] = "a", tags: list[str]) -> dict:
    """Do it.

    Args:
        text: what to read
        limit (int): how many
    """
''').body[0]
    schema = parameters_schema(func)
    assert schema["required"] == ["text", "tags"]
    assert schema["properties"]["text"] == {"type": "string", "description": "what to read"}
    assert schema["properties"]["limit"] == {"type": "integer", "description": "how many", "default": 3}
    assert schema["properties"]["mode"] == {"enum": ["a", "b"], "default": "a"}
    assert schema["additionalProperties"] is False
    assert signature_text(func) == "f(text: str, limit: int=3, *, mode: Literal['a', 'b']='a', tags: list[str]) -> dict"

"""The OpenAPI document is fit for use: bearer security declared, every operation and model
documented with examples that hold; /docs and /redoc load only assets the API serves itself.

Which statuses each route declares is checked in ``test_openapi_declared``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import Enum
from typing import Any, get_args

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel

from services.api.app import create_app
from services.api.docs import ASSET_FILES, ASSETS_URL, SECURITY_SCHEME
from services.api.settings import ApiSettings

URL = re.compile(r"""["'(]\s*(?:https?:)?//""")  # an absolute or protocol-relative URL in the HTML
ASSET_TYPES = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",), ".png": ("image/png",)}
PAGE_ASSETS = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url\s*:\s*["']([^"']+)["']""")


# Modules being written in parallel with this test (the /v1/status models, the dashboard, the health
# route's rework): their gaps are reported by name but tolerated until they are documented; a module
# listed here that has no gaps left fails the test, so the list only shrinks.
PENDING_ELSEWHERE: frozenset[str] = frozenset()


def pending(module: str) -> str | None:
    return next((m for m in PENDING_ELSEWHERE if module == m or module.startswith(f"{m}.")), None)


def check_gaps(gaps: list[tuple[str, str]]) -> None:
    """(module, gap): fail on the gaps outside PENDING_ELSEWHERE."""
    hard = [gap for module, gap in gaps if pending(module) is None]
    assert not hard, "\n".join(hard)


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(ApiSettings(api_token="docs-test-token"))  # building the document needs no Redis


@pytest.fixture(scope="module")
def spec(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def has_example(spec: dict[str, Any], media: dict[str, Any]) -> bool:
    """An example on the media type, or on its schema (through refs, array items, any branch)."""
    if "example" in media or media.get("examples"):
        return True

    def schema_has(schema: dict[str, Any]) -> bool:
        schema = resolve(spec, schema)
        if schema.get("examples") or "example" in schema:
            return True
        if schema.get("type") == "array" and "items" in schema:
            return schema_has(schema["items"])
        return any(schema_has(s) for s in schema.get("anyOf", []) if s.get("type") != "null")

    return schema_has(media.get("schema", {}))


def auto_summary(method: str, path: str, op: dict[str, Any]) -> str:
    """The summary FastAPI makes up from the function's name (operationId: name + path + method)."""
    name = op["operationId"].removesuffix(re.sub(r"\W", "_", path) + f"_{method}")
    return name.replace("_", " ").title()


def undocumented(spec: dict[str, Any], method: str, path: str, op: dict[str, Any]) -> list[str]:
    gaps = []
    if not op.get("summary") or op["summary"] == auto_summary(method, path, op):
        gaps.append("no summary of its own")
    if not (op.get("description") or "").strip():
        gaps.append("no description")
    for param in op.get("parameters", []):
        if not param.get("description"):
            gaps.append(f"parameter {param['name']} has no description")
    for media_type, media in op.get("requestBody", {}).get("content", {}).items():
        if not has_example(spec, media):
            gaps.append(f"request body {media_type} has no example")
    for status, response in op["responses"].items():
        for media_type, media in response.get("content", {}).items():
            if not has_example(spec, media):
                gaps.append(f"response {status} {media_type} has no example")
    return gaps


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI keeps included routers nested
            yield from api_routes(route.original_router.routes)


def served_models(app: FastAPI) -> set[type[BaseModel] | type[Enum]]:
    """Every pydantic model a route reads or answers with, and the models and enums inside them."""
    found: set[type[BaseModel] | type[Enum]] = set()

    def walk(annotation: Any) -> None:
        for arg in get_args(annotation):
            walk(arg)
        if isinstance(annotation, type) and issubclass(annotation, (BaseModel, Enum)) and annotation not in found:
            found.add(annotation)
            for field in getattr(annotation, "model_fields", {}).values():
                walk(field.annotation)

    for route in api_routes(app.routes):
        if route.include_in_schema:
            walk(route.response_model)
            if route.body_field is not None:
                walk(route.body_field.field_info.annotation)
    return found


def test_bearer_scheme_is_declared(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"][SECURITY_SCHEME]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer" and scheme["description"]


def test_every_v1_operation_requires_the_bearer_and_no_other_does(spec: dict[str, Any]) -> None:
    wrong = []
    for method, path, op in operations(spec):
        expected = [{SECURITY_SCHEME: []}] if path.startswith("/v1/") else None
        if op.get("security") != expected:
            wrong.append(f"{method.upper()} {path}: {op.get('security')}")
    assert not wrong, "\n".join(wrong)
    assert "security" not in spec  # no global requirement: /healthz and /metrics stay open


def operation_gaps(app: FastAPI, spec: dict[str, Any]) -> list[tuple[str, str]]:
    module_of = {(method.lower(), route.path): route.endpoint.__module__
                 for route in api_routes(app.routes) for method in route.methods}
    return [(module_of[(method, path)], f"{method.upper()} {path}: {gap}") for method, path, op in operations(spec)
            for gap in undocumented(spec, method, path, op)]


def model_gaps(app: FastAPI) -> list[tuple[str, str]]:
    gaps = []
    for model in sorted(served_models(app), key=lambda m: m.__name__):
        name, module = model.__name__, model.__module__
        if not (model.__doc__ or "").strip():
            gaps.append((module, f"{name}: no description (docstring)"))
        if not issubclass(model, BaseModel):
            continue
        schema = model.model_json_schema()
        if not schema.get("examples"):
            gaps.append((module, f"{name}: no examples"))
        for example in schema.get("examples", []):
            model.model_validate(example)  # an example the model refuses would mislead
        for field, prop in schema.get("properties", {}).items():
            if not prop.get("description"):
                gaps.append((module, f"{name}.{field}: no description"))
    return gaps


def test_every_operation_is_documented_with_examples(app: FastAPI, spec: dict[str, Any]) -> None:
    check_gaps(operation_gaps(app, spec))


def test_every_served_model_and_enum_is_documented_with_examples_that_validate(app: FastAPI) -> None:
    assert len(served_models(app)) > 20
    check_gaps(model_gaps(app))


def test_pending_modules_still_have_gaps(app: FastAPI, spec: dict[str, Any]) -> None:
    """A module in PENDING_ELSEWHERE that is documented now must leave the list."""
    with_gaps = {pending(module) for module, _ in operation_gaps(app, spec) + model_gaps(app)}
    present = {pending(route.endpoint.__module__) for route in api_routes(app.routes)}
    present |= {pending(model.__module__) for model in served_models(app)}
    documented = (present - {None}) - with_gaps
    assert not documented, f"documented now, remove from PENDING_ELSEWHERE: {sorted(documented)}"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_doc_pages_load_only_local_assets(api_server: Any, page: str) -> None:
    async with httpx.AsyncClient(base_url=api_server.url, timeout=30) as client:  # no token
        response = await client.get(page)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        html = response.text
        assert not URL.search(html), URL.findall(html)
        referenced = {a or b for a, b in PAGE_ASSETS.findall(html)}
        assert "/openapi.json" in referenced
        assets = {url for url in referenced if url.startswith(f"{ASSETS_URL}/")}
        assert assets, referenced
        assert referenced - assets == {"/openapi.json"}, referenced  # nothing else is loaded
        for url in assets:
            asset = await client.get(url)
            assert asset.status_code == 200, url


@pytest.mark.parametrize("name", ASSET_FILES)
async def test_each_asset_is_served_without_a_token(api_server: Any, name: str) -> None:
    async with httpx.AsyncClient(base_url=api_server.url, timeout=30) as client:
        response = await client.get(f"{ASSETS_URL}/{name}")
    assert response.status_code == 200
    media_type = response.headers["content-type"].split(";")[0]
    assert media_type in ASSET_TYPES[name[name.rindex("."):]], media_type
    assert len(response.content) > (1_000 if name.endswith(".png") else 100_000)


async def test_swagger_ui_page_offers_the_bearer_token(api_server: Any) -> None:
    async with httpx.AsyncClient(base_url=api_server.url, timeout=30) as client:
        html = (await client.get("/docs")).text
        spec = (await client.get("/openapi.json")).json()
        missing = await client.get(f"{ASSETS_URL}/no-such-file.js")
    assert "persistAuthorization" not in html  # the token is not kept in localStorage (the dashboard: per tab)
    assert SECURITY_SCHEME in spec["components"]["securitySchemes"]  # what gives /docs its Authorize button
    assert missing.status_code == 404

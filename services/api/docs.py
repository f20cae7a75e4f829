"""The API's documentation: the OpenAPI document, and Swagger UI (``/docs``) and ReDoc (``/redoc``).

The pages load their scripts and styles from the API itself (``/docs-assets/...``), never from a
CDN, so they work on a machine without the internet. The files come from the pinned PyPI package
``fastapi-offline`` 1.7.7 (the ``api`` extra), which ships Swagger UI's (5.32.6) and ReDoc's
(2.5.3) standalone bundles and a favicon; only its files are used, not its app factory. The
assets need no token (``services.api.auth`` guards ``/v1/`` only): the pages load before the
user authorizes.

Authentication stays where it is enforced, in ``services.api.auth`` (every path under
``/v1/``); the document only declares it: an HTTP bearer scheme in ``components.securitySchemes``
and ``security`` on each operation under that same prefix, so that ``/docs`` has an "Authorize"
button and clients generated from the document send the token.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from services.api.auth import PROTECTED_PREFIX

ASSETS_URL = "/docs-assets"
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))  # swagger-ui-bundle.js, swagger-ui.css, ...
ASSET_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
SECURITY_SCHEME = "bearerAuth"

DESCRIPTION = """\
The BAT OS engine: three personas (BRICK, ROBIN, ALFRED) answer tasks, forge tools, propose
amendments to their codex and are fine-tuned on their best answers.

**Authentication.** Every `/v1` route needs `Authorization: Bearer <BATOS_API_TOKEN>` (without it:
401). `/healthz`, `/metrics` and these documentation pages need none. In `/docs`, press
*Authorize* and paste the token.

**Errors.** Every error body is `{"detail": ...}`: a message, the list of validation issues (422),
or, for a failed tool call, an object. Every status a route can answer is declared with it.
"""

TAGS: list[dict[str, Any]] = [
    {"name": "tasks", "description": "Submit a task for the personas, read it back, list tasks."},
    {"name": "personas", "description": "The personas and the model each speaks through; roll a swap back."},
    {"name": "events", "description": "The event bus, live, as server-sent events."},
    {"name": "codex", "description": "The guiding principles, and the amendments the system proposes "
                                     "(a human approves or rejects them)."},
    {"name": "datasets", "description": "The golden dataset's versions and their samples; curate now."},
    {"name": "fine-tunes", "description": "Fine-tunes of a persona on a sealed dataset version: "
                                          "progress, loss curve, the gate's decision; start one."},
    {"name": "tools", "description": "Forge a tool from a spec, read tools and forge jobs, "
                                     "call a tool in the sandbox."},
    {"name": "health", "description": "Liveness and Prometheus metrics (no token)."},
]


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs``, ``/redoc`` and their assets, and declare the bearer scheme in ``/openapi.json``.

    The app must be created with ``docs_url=None, redoc_url=None``. Call this before anything is
    mounted at ``/``, which would otherwise answer for these paths too.
    """
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png", oauth2_redirect_url=None,
            # keep the token across reloads; no call to the online validator
            swagger_ui_parameters={"validatorUrl": None})  # the token is not kept beyond the page

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=openapi_url, title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
                              redoc_favicon_url=f"{ASSETS_URL}/favicon.png", with_google_fonts=False)

    app.description = DESCRIPTION
    app.openapi_tags = TAGS
    app.openapi = openapi_of(app)  # type: ignore[method-assign]


def openapi_of(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """FastAPI's own document (built once, again when routes change), with the bearer security declared."""

    def openapi() -> dict[str, Any]:
        spec = FastAPI.openapi(app)
        declare_bearer(spec)  # idempotent
        return spec

    return openapi


def declare_bearer(spec: dict[str, Any]) -> None:
    """The bearer scheme, required on every operation the middleware guards (paths under ``/v1/``)."""
    spec.setdefault("components", {}).setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http", "scheme": "bearer",
        "description": "`Authorization: Bearer <BATOS_API_TOKEN>` (the token the API was started with)",
    }
    for path, operations in spec.get("paths", {}).items():
        if path.startswith(PROTECTED_PREFIX):
            for operation in operations.values():
                operation["security"] = [{SECURITY_SCHEME: []}]

"""The JSON API's routes, declared once: each part of the web server lists its
``ApiRoute``s, and the same list makes both the routes and the OpenAPI document
served at /api/openapi.json, so the document cannot drift from the API.

A route names its query, body and response as pydantic models; their JSON
Schemas become the document's components. A handler gets the request and the
validated query and body (``Call``), and returns the response model (or a list
of it), which goes out as JSON; a query or body that does not validate is a
400 naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError


@dataclass(frozen=True)
class Call:
    """What a handler is called with: the request, its path parameters, and the
    query and body validated into their models (None when the route has none)."""

    request: web.Request
    path: dict[str, str]
    query: Any
    body: Any


Result = BaseModel | Sequence[BaseModel] | web.StreamResponse | None


@dataclass(frozen=True)
class ApiRoute:
    method: str  # GET, POST, DELETE…
    path: str  # under /api, with {name} parameters: "/api/feeds/{url}"
    summary: str  # one line, for the document
    handler: Callable[[Call], Awaitable[Result]]
    response: Any = None  # a model, list[Model], or None for 204 No Content
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    status: int = 200  # on success
    tag: str = "api"
    description: str = ""
    # "text/event-stream": the handler writes its own web.StreamResponse and
    # returns it; ``response`` then describes each event's data
    media_type: str = "application/json"


class ApiError(Exception):
    """A handler's refusal: answered with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def install(app: web.Application, routes: Sequence[ApiRoute], title: str, version: str) -> None:
    """Add ``routes`` to ``app``, and /api/openapi.json describing them."""
    for route in routes:
        app.router.add_route(route.method, route.path, _handler(route))
    document = openapi_document(routes, title, version)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/api/openapi.json", openapi)


def _handler(route: ApiRoute) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            query = route.query.model_validate(dict(request.query)) if route.query else None
            body = None
            if route.body is not None:
                try:
                    body = route.body.model_validate(await request.json())
                except json.JSONDecodeError:
                    raise ApiError(400, "the body is not JSON") from None
            result = await route.handler(Call(request, dict(request.match_info), query, body))
            if isinstance(result, web.StreamResponse):
                return result
        except ValidationError as exc:
            return web.json_response({"error": _validation_message(exc)}, status=400)
        except ApiError as exc:
            return web.json_response({"error": exc.message}, status=exc.status)
        if result is None:
            return web.Response(status=204)
        return web.json_response(_dump(result), status=route.status)

    return handle


def _dump(result: BaseModel | Sequence[BaseModel]) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return [item.model_dump(mode="json") for item in result]


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the request"
    return f"{where}: {first['msg']}"


def openapi_document(routes: Sequence[ApiRoute], title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes``."""
    components: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation: dict[str, Any] = {
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": f"{route.method.lower()}_{_slug(route.path)}",
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _path_names(route.path)
            ],
            "responses": {},
        }
        if route.description:
            operation["description"] = route.description
        if route.query is not None:
            schema = _schema(route.query, components)
            required = set(schema.get("required", ()))
            for name, prop in schema.get("properties", {}).items():
                operation["parameters"].append(
                    {"name": name, "in": "query", "required": name in required, "schema": prop}
                )
        if route.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema_ref(route.body, components)}},
            }
        if route.response is None:
            operation["responses"]["204"] = {"description": "done"}
        else:
            operation["responses"][str(route.status)] = {
                "description": "OK",
                "content": {route.media_type: {"schema": _schema_ref(route.response, components)}},
            }
        operation["responses"]["400"] = {"description": "a query or body that does not validate"}
        operation["responses"]["401"] = {"description": "web.token set, and not given"}
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _schema(kind: Any, components: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of a model, its nested models moved into ``components``."""
    schema = TypeAdapter(kind).json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    return schema


def _schema_ref(kind: Any, components: dict[str, Any]) -> dict[str, Any]:
    """A reference to a model (or a list of one) in ``components``."""
    schema = _schema(kind, components)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        components[kind.__name__] = schema
        return {"$ref": f"#/components/schemas/{kind.__name__}"}
    return schema


def _path_names(path: str) -> list[str]:
    return [part[1:-1].split(":")[0] for part in path.split("/") if part.startswith("{")]


def _slug(path: str) -> str:
    parts = [part.strip("{}").split(":")[0] for part in path.removeprefix("/api/").split("/")]
    return "_".join(part.replace("-", "_") for part in parts if part)

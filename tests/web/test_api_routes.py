"""The API's routes, declared once, make both the routes and their OpenAPI
document: a valid document that lists every route with its query, body and
response, queries and bodies validated into 400s that name the field, a
handler's refusal answered with its status, and nothing to say a 204."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession, web
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from monitor.web.routes import ApiError, ApiRoute, Call, install
from monitor.web.server import serve
from tests.servers import free_port


class Shelf(BaseModel):
    name: str
    books: int


class ShelfQuery(BaseModel):
    min_books: int = Field(default=0, ge=0, description="only shelves with this many books")


class NewShelf(BaseModel):
    name: str = Field(min_length=1)


SHELVES = [Shelf(name="news", books=3), Shelf(name="sport", books=0)]


async def list_shelves(call: Call) -> list[Shelf]:
    return [s for s in SHELVES if s.books >= call.query.min_books]


async def add_shelf(call: Call) -> Shelf:
    if any(s.name == call.body.name for s in SHELVES):
        raise ApiError(409, f"shelf {call.body.name} exists")
    return Shelf(name=call.body.name, books=0)


async def remove_shelf(call: Call) -> None:
    if call.path["name"] not in {s.name for s in SHELVES}:
        raise ApiError(404, f"no shelf {call.path['name']}")


ROUTES = [
    ApiRoute("GET", "/api/shelves", "list shelves", list_shelves, list[Shelf], query=ShelfQuery),
    ApiRoute("POST", "/api/shelves", "add a shelf", add_shelf, Shelf, body=NewShelf, status=201),
    ApiRoute("DELETE", "/api/shelves/{name}", "remove a shelf", remove_shelf),
]


@pytest.fixture
async def base() -> AsyncIterator[str]:
    app = web.Application()
    install(app, ROUTES, "shelves", "1.0")
    port = free_port()
    runner = await serve(app, "127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_the_document_is_valid_openapi_and_lists_every_route(base: str) -> None:
    async with ClientSession() as http, http.get(f"{base}/api/openapi.json") as response:
        document = await response.json()
    validate(document)
    assert set(document["paths"]) == {"/api/shelves", "/api/shelves/{name}"}
    listing = document["paths"]["/api/shelves"]["get"]
    assert [p["name"] for p in listing["parameters"]] == ["min_books"]
    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Shelf"},
    }
    assert set(document["components"]["schemas"]) == {"Shelf", "NewShelf"}
    assert "204" in document["paths"]["/api/shelves/{name}"]["delete"]["responses"]


async def test_queries_and_bodies_are_validated_and_refusals_keep_their_status(base: str) -> None:
    async with ClientSession() as http:
        async with http.get(f"{base}/api/shelves", params={"min_books": "1"}) as response:
            assert (response.status, await response.json()) == (200, [{"name": "news", "books": 3}])
        async with http.get(f"{base}/api/shelves", params={"min_books": "-1"}) as response:
            assert response.status == 400
            assert (await response.json())["error"].startswith("min_books: ")
        async with http.post(f"{base}/api/shelves", json={"name": ""}) as response:
            assert response.status == 400 and "name" in (await response.json())["error"]
        async with http.post(f"{base}/api/shelves", data=b"{not json") as response:
            assert (response.status, await response.json()) == (
                400,
                {"error": "the body is not JSON"},
            )
        async with http.post(f"{base}/api/shelves", json={"name": "news"}) as response:
            assert (response.status, await response.json()) == (409, {"error": "shelf news exists"})
        async with http.post(f"{base}/api/shelves", json={"name": "arts"}) as response:
            assert (response.status, await response.json()) == (201, {"name": "arts", "books": 0})
        async with http.delete(f"{base}/api/shelves/news") as response:
            assert response.status == 204
        async with http.delete(f"{base}/api/shelves/none") as response:
            assert response.status == 404

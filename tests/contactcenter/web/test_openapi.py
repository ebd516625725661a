"""The OpenAPI document describes every JSON endpoint the server really has."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

JSON_PREFIXES = ("/api", "/healthz", "/channels")


async def test_document_lists_every_json_route(
    client: TestClient[Any, Any], app: web.Application
) -> None:
    resp = await client.get("/api/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"].startswith("3.1")
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith(JSON_PREFIXES)
        and route.method != "HEAD"
    }
    documented = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    assert served == documented


async def test_every_operation_has_responses_and_resolvable_schemas(
    client: TestClient[Any, Any]
) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    schemas = doc["components"]["schemas"]

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if "$ref" in node else []
            return found + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["summary"], (method, path)
            assert op["responses"], (method, path)
    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in schemas


async def test_path_parameters_are_declared(client: TestClient[Any, Any]) -> None:
    """Clients generated from the document need each `{name}` of a path described."""
    doc = await (await client.get("/api/openapi.json")).json()
    for path, ops in doc["paths"].items():
        named = set(re.findall(r"{(\w+)}", path))
        for op in ops.values():
            declared = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "path"}
            assert set(declared) == named, path
            assert all(p["required"] for p in declared.values())
    case = doc["paths"]["/api/cases/{case_id}"]["get"]["parameters"][0]
    assert case["schema"] == {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}

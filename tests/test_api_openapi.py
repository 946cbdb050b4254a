"""The OpenAPI document is a contract clients are generated from: every error status an
operation can answer is declared with the error body, and every input is bounded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from api.app import create_app
from api.schemas import DB_INT_MAX
from settings import Settings

Schema = dict[str, Any]
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Schema:
    settings = Settings(data_dir=tmp_path_factory.mktemp("openapi"), secret_key="test-secret")
    app: FastAPI = create_app(settings)
    return app.openapi()


def operations(document: Schema) -> Iterator[tuple[str, Schema]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def statuses(operation: Schema) -> set[int]:
    return {int(s) for s in operation["responses"] if int(s) >= 400}


def test_every_error_status_is_described_by_the_error_body(document: Schema) -> None:
    body = document["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"error", "message", "details"}
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for name, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400 or name == "GET /readyz":
                continue
            assert response["content"]["application/json"]["schema"] == ERROR_BODY, name
            assert response["description"], name


def test_retry_after_and_www_authenticate_are_declared(document: Schema) -> None:
    for name, operation in operations(document):
        for status, response in operation["responses"].items():
            headers = response.get("headers", {})
            if status in ("429", "503"):
                assert headers["Retry-After"]["required"] is True, name
            if status == "401":
                assert "WWW-Authenticate" in headers, name


# The statuses of a few operations, one of each kind, written out in full. Every one that
# reaches the database can answer 503 (it is down, or the pool is exhausted).
EXPECTED = {
    "GET /api/matters": {422, 503},
    "GET /api/matters/{code}": {404, 422, 503},
    "POST /api/applications": {404, 409, 422, 429, 503},
    "GET /api/applications/{application_no}": {404, 422, 429, 503},
    "POST /api/applications/{application_no}/withdraw": {404, 409, 422, 429, 503},
    "POST /api/applications/{application_no}/rating": {404, 409, 422, 429, 503},
    "GET /api/window/pending": {401, 403, 503},
    "POST /api/window/applications/{application_no}/accept": {401, 403, 404, 409, 422, 503},
    "GET /api/tasks": {401, 403, 422, 503},
    "GET /api/tasks/{task_id}": {401, 403, 404, 422, 503},
    "POST /api/tasks/{task_id}/decision": {401, 403, 404, 409, 422, 503},
    "POST /api/supervision/reviews/{application_no}/follow-up": {401, 403, 404, 409, 422, 503},
    "GET /api/licences/{number}/verify": {404, 409, 422, 503},
    "POST /api/auth/token": {401, 422, 429, 503},
    "GET /api/auth/me": {401, 503},
    "GET /healthz": set(),
    "GET /readyz": {503},
}


def test_statuses_of_each_kind_of_operation(document: Schema) -> None:
    found = dict(operations(document))
    assert {name: statuses(found[name]) for name in EXPECTED} == EXPECTED


def test_operations_behind_a_role_declare_401_403_and_the_bearer_scheme(document: Schema) -> None:
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert scheme == scheme | {"type": "http", "scheme": "bearer"}
    for name, operation in operations(document):
        behind = "security" in operation
        # Every signed-in user has a /me and an inbox of their own: only 401 applies there.
        for_anyone = name.endswith(("/me", "/logout")) or "/api/inbox" in name
        assert behind == ({401, 403} <= statuses(operation) or for_anyone), name
        if behind:
            assert operation["security"] == [{"bearer": []}], name
        if "{" in name and name != "GET /api/licences/{number}/verify":
            assert 404 in statuses(operation), name  # the path names something
        if operation.get("parameters") or operation.get("requestBody"):
            assert 422 in statuses(operation), name


# --- every input is bounded --------------------------------------------------------------------


def resolve(document: Schema, schema: Schema) -> Schema:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = document["components"]["schemas"][name]
    return schema


def unbounded(document: Schema, schema: Schema, where: str, seen: set[str]) -> Iterator[str]:
    """Every place under `schema` a client could send something without a bound."""
    if "$ref" in schema:
        if schema["$ref"] in seen:
            return
        seen = seen | {schema["$ref"]}
    schema = resolve(document, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        for i, sub in enumerate(schema.get(key, [])):
            yield from unbounded(document, sub, f"{where}|{i}", seen)
    if "enum" in schema or "const" in schema:
        return
    kind = schema.get("type")
    if kind == "string" and "maxLength" not in schema:
        yield f"{where}: string without maxLength"
    if kind in ("integer", "number"):
        if "maximum" not in schema or "minimum" not in schema:
            yield f"{where}: number without minimum and maximum"
        elif kind == "integer" and not -(2**63) <= schema["minimum"] <= schema["maximum"] < 2**63:
            yield f"{where}: integer beyond the database's range"
    if kind == "array":
        if "maxItems" not in schema:
            yield f"{where}: array without maxItems"
        yield from unbounded(document, schema.get("items", {}), f"{where}[]", seen)
    if kind == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            yield from unbounded(document, sub, f"{where}.{name}", seen)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            if "maxProperties" not in schema:
                yield f"{where}: map without maxProperties"
            if "maxLength" not in schema.get("propertyNames", {}):
                yield f"{where}: map keys without maxLength"
            yield from unbounded(document, extra, f"{where}.*", seen)


def test_every_parameter_and_body_is_bounded(document: Schema) -> None:
    problems: list[str] = []
    for name, operation in operations(document):
        for parameter in operation.get("parameters", []):
            where = f"{name} {parameter['in']} {parameter['name']}"
            problems += unbounded(document, parameter["schema"], where, set())
        for media, content in operation.get("requestBody", {}).get("content", {}).items():
            problems += unbounded(document, content["schema"], f"{name} body {media}", set())
    assert problems == [], "\n".join(problems)


def test_ids_stay_within_the_integer_columns(document: Schema) -> None:
    for name, operation in operations(document):
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "task_id":
                assert parameter["schema"]["maximum"] == DB_INT_MAX, name
                assert parameter["schema"]["minimum"] == 1, name

"""The OpenAPI document is complete and correct: schemathesis generates requests from it (in
process, no network, a bounded number of examples per operation) and finds no server error and no
response that the document does not describe, for a tenant admin, a service and a subject token."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apihelp import World, make_world

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def world(vault) -> World:  # type: ignore[no-untyped-def]
    return make_world(vault)


def test_api_conforms_to_its_openapi_document(world: World) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def conforms(case) -> None:  # type: ignore[no-untyped-def]
            for who in ("admin", "service", "alice"):
                headers = {"Authorization": f"Bearer {world.tokens[who]}"}
                case.call_and_validate(headers=headers, checks=CHECKS)

        conforms()


def test_openapi_document_names_every_route_and_the_problem_shape(world: World) -> None:
    document = world.client.get("/openapi.json").json()
    assert "Problem" in document["components"]["schemas"]
    for path, methods in document["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in methods.items():
            assert {"401", "403", "422"} <= set(operation["responses"]), (method, path)

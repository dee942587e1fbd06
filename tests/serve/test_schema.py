"""A property-based run of the OpenAPI schema against the live server on loopback
(schemathesis's strategies, driven by hypothesis): no 5xx, and no answer that breaks the
schema's own status codes, content types or bodies, for valid and for invalid input. Bounded: a
fixed number of derandomized examples per operation and mode."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from r2p.serve import ApiKeys, BackgroundServer, ProfileStore, ServeConfig, create_app  # noqa: E402

from .conftest import KEY_A, KEYS  # noqa: E402

EXAMPLES = 12
AUTH = {"Authorization": f"Bearer {KEY_A}"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
CONFIG = ServeConfig(backend="fake", max_batch_items=20)

# The schema the server publishes (the same app, built without serving it).
SCHEMA = schemathesis.openapi.from_dict(
    create_app(CONFIG, store=ProfileStore("sqlite://")).openapi())
OPERATIONS = {r.ok().label: r.ok() for r in SCHEMA.get_all_operations()}


@pytest.fixture(scope="module")
def live() -> Iterator[BackgroundServer]:
    store = ProfileStore("sqlite://")
    store.add_items("acme", "ann", [{"id": "p1", "text": "I climb on weekends"},
                                    {"id": "p2", "text": "<i>vegetarian</i> cook", "n": 2}])
    app = create_app(CONFIG, store=store, keys=ApiKeys.parse(KEYS))
    with BackgroundServer(app) as srv:
        yield srv
    store.close()


def test_every_operation_is_covered() -> None:
    assert len(OPERATIONS) == 9, sorted(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_schema_holds(label: str, mode: GenerationMode, live: BackgroundServer) -> None:
    op = OPERATIONS[label]

    @given(case=op.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(base_url=live.url, headers=AUTH, checks=CHECKS, timeout=30)

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        pytest.skip(f"{label} takes no input that could be invalid")

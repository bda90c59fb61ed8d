"""schemathesis against the API's own OpenAPI spec: no generated request makes a server error.

The API runs on uvicorn over the real broker (its topics fresh; no processors are needed to
answer), with an admin key, so every operation is reached past authentication.
"""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error

from fillstream.api.app import create_app
from fillstream.api.server import api_settings, build
from tests.integration.test_api_live import serving

pytestmark = pytest.mark.integration

ADMIN = "fuzz-admin-key-00001"


@pytest.fixture(scope="module")
def api_url(kafka_bootstrap, tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
        env.setenv("FILLSTREAM_TOPIC_PREFIX", f"fuzz{uuid.uuid4().hex[:6]}.")
        env.setenv("FILLSTREAM_STATE_DIR", str(tmp_path_factory.mktemp("state")))
        env.setenv("FILLSTREAM_API_KEYS", f"{ADMIN}:admin")
        env.setenv("FILLSTREAM_API_RATE_LIMIT", "100000")
        services, follower = build(api_settings())
        follower.start()
        try:
            with serving(create_app(services)) as url:
                yield url
        finally:
            follower.stop()
            services.cluster.close()


def test_no_operation_answers_with_a_server_error(api_url):
    schema = schemathesis.openapi.from_url(f"{api_url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16  # every route of the API is in the spec
    calls: Counter[str] = Counter()

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=8,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # a failure is reported as found
            suppress_health_check=list(HealthCheck),
        )
        def answers_without_a_server_error(case: schemathesis.Case) -> None:
            calls[case.operation.label] += 1
            case.call_and_validate(
                base_url=api_url, headers={"X-API-Key": ADMIN}, checks=[not_a_server_error]
            )

        answers_without_a_server_error()

    assert {op.label for op in operations} == set(calls)

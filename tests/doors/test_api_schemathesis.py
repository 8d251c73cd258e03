"""Property-based API testing from the served OpenAPI spec: no input makes the service fail with 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from api.main import create_app
from simulator.scenario import Outcome, SimRun, all_streams

from ..conftest import START, make_world

H = timedelta(hours=1)
TOKENS = "tok-expert=alice:alca-expert|operator"


@pytest.fixture(scope="module")
def app(tmp_path_factory, policy):
    runs = [SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy)),
            SimRun(386926, START - 11 * H, START - 7 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED})]
    world = make_world(tmp_path_factory.mktemp("schemathesis"), policy, runs, tokens=TOKENS)
    world.at(timedelta(0))
    yield create_app(world.agency.settings, clock=world.clock, policy=world.agency.policy, store=world.store)
    world.agency.close()
    world.sim.stop()


def test_no_input_causes_a_server_error(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            for headers in ({}, {"Authorization": "Bearer tok-expert"}):
                response = case.call(headers=headers)
                case.validate_response(response, checks=[not_a_server_error])

        check()

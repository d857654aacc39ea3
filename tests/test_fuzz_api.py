"""Fuzz the JSON API from its own OpenAPI document (schemathesis over WSGI): no request, valid
or invalid, may answer 5xx, and JSON answers match the documented response schemas.

Two bounded, deterministic passes over every operation of /api/v1/openapi.json:
- boundaries: schemathesis' coverage cases for valid input (every string at its documented
  minimum and maximum length, every optional field present and absent, enum values, ...), sent
  as an admin with the path pointing at objects that exist, so the handlers write them;
- random: a fixed number of derandomised generated cases per operation, valid and invalid,
  as an admin and as a unit's sponsor, with path parameters both random and pointing at
  existing objects.
The number of cases is fixed (no deadline per example); a time budget only guards against a hang.
"""
import time

import pytest
import schemathesis
from conftest import account_body, make_user
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import select

from govmedia.extensions import db
from govmedia.types import utcnow
from interaction.models import Message
from interaction.services import store_message
from interaction.wechat_callback import Incoming
from registry.models import Account

# Random pass, per operation: (identity, generation mode, examples).
PLAN = [("admin", GenerationMode.POSITIVE, 4), ("admin", GenerationMode.NEGATIVE, 3),
        ("sponsor_a", GenerationMode.POSITIVE, 2), ("sponsor_a", GenerationMode.NEGATIVE, 2)]
COVERAGE_CASES_PER_OPERATION = 60
# Small ids are likely draws, and user 1 is the admin: disabling it would end the run early.
ONLY_KNOWN_TARGETS = {"PATCH /api/v1/users/{user_id}"}
TIME_BUDGET_SECONDS = 90         # a guard against a hang, not the expected time
# Content types are not checked: the CSV and XLSX downloads are documented as JSON.
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def fuzz_world(app, world, login):
    """Objects for path parameters to hit: accounts, an article, a notice, an order, a report."""
    a = world.unit_a["id"]
    wechat = world.sponsor_a.post("/api/v1/accounts", account_body(a)).get_json()
    app_account = world.sponsor_a.post("/api/v1/accounts", account_body(
        a, platform="app", handle="cn.gov.example", name="某县App")).get_json()
    make_user("editor", ["editor"], a)
    app.config["TEST_RUN_JOBS"] = False  # nothing is sent
    article = login("editor").post("/api/v1/articles", {
        "title": "县政府召开常务会议", "body_html": "<p>会议研究部署了近期重点工作。</p>",
        "target_account_ids": [wechat["id"]]}).get_json()
    notice = world.sponsor_a.post(f"/api/v1/accounts/{app_account['id']}/events", {
        "kind": "deregister", "event_date": "2026-11-16", "reason": "无力维护",
        "takedown": [{"kind": "store", "label": "应用宝"}]}).get_json()["notice"]
    order = world.supervisor.post("/api/v1/supervision/rectifications", {
        "unit_id": a, "kind": "dormant", "finding": "长期未更新", "account_id": wechat["id"]}
    ).get_json()
    report = world.supervisor.post("/api/v1/supervision/reports",
                                   {"year": 2026, "quarter": 3}).get_json()
    victim = make_user("fuzz_victim", ["editor"], a)  # PATCH /users/{id} must not lock us out
    takedown = world.sponsor_a.get(f"/api/v1/accounts/{app_account['id']}/takedown").get_json()
    store_message(db.session.get(Account, wechat["id"]), Incoming(
        msg_id="1234567890", sender="oFuzzSender", kind="text", text="咨询", received_at=utcnow()))
    db.session.commit()
    return {
        "account_id": wechat["id"], "unit_id": a, "article_id": article["id"],
        "notice_id": notice["id"], "order_id": order["id"], "report_id": report["id"],
        "user_id": victim.id, "filing_id": wechat["filings"][0]["id"],
        "item_id": takedown["items"][0]["id"], "name": "caution",
        "message_id": db.session.scalar(select(Message.id)),
        "answer_id": world.sponsor_a.post("/api/v1/answers", {
            "unit_id": a, "topic": "咨询", "answer": "已办理"}).get_json()["id"],
    }


class Run:
    """Sends cases and collects what went wrong; bounded by a deadline."""

    def __init__(self, app, login, tokens):
        self.app, self.login, self.tokens = app, login, tokens
        self.failures, self.counts = set(), {}
        self.started = time.monotonic()
        self.deadline = self.started + TIME_BUDGET_SECONDS

    def headers(self, operation, identity):
        if operation.path == "/api/v1/auth/tokens/current":
            # DELETE revokes the token it is sent with: each call gets a token of its own.
            return {"Authorization": f"Bearer {self.login(identity).token}"}
        return {"Authorization": f"Bearer {self.tokens[identity]}"}

    def send(self, case, identity, label):
        if time.monotonic() > self.deadline:
            return
        try:
            response = case.call(app=self.app, headers=self.headers(case.operation, identity))
        except Exception as exc:  # noqa: BLE001 -- the app raised: a 500 outside TESTING
            self.failures.add(f"{case.operation.label} [{label}] raised {exc!r}"[:2000])
            return
        finally:
            db.session.rollback()
        status = response.status_code // 100
        self.counts[status] = self.counts.get(status, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as exc:  # noqa: BLE001 -- a FailureGroup of what schemathesis found
            self.failures.add(f"{case.operation.label} [{label}] {exc}"[:2000])


def _coverage_pass(run, schema, operation, known):
    """Valid boundary values, deterministically, against objects that exist."""
    fixed = {p.name: known[p.name] for p in operation.path_parameters if p.name in known}
    config = schema.config.generation_for(operation=operation)
    cases = schema.iter_coverage_cases(operation, generation_modes=[GenerationMode.POSITIVE],
                                       generation_config=config)
    for number, case in enumerate(cases):
        if number >= COVERAGE_CASES_PER_OPERATION:
            break
        if fixed and case.path_parameters is not None:
            case.path_parameters.update(fixed)
        run.send(case, "admin", "boundary")


def _random_pass(run, operation, known):
    fixed = {p.name: known[p.name] for p in operation.path_parameters if p.name in known}
    for identity, mode, examples in PLAN:
        strategies = [operation.as_strategy(generation_mode=mode, path_parameters=fixed)]
        if fixed and operation.label not in ONLY_KNOWN_TARGETS:
            strategies.append(operation.as_strategy(generation_mode=mode))
        _generate(run, st.one_of(strategies), examples, identity, f"{identity} {mode.value}")


def _generate(run, strategy, examples, identity, label):
    @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def fuzz(case):
        run.send(case, identity, label)

    fuzz()


def test_no_operation_answers_5xx(app, fuzz_world, login, world):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    run = Run(app, login, {"admin": world.admin.token, "sponsor_a": world.sponsor_a.token})
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        _coverage_pass(run, schema, operation, fuzz_world)
        _random_pass(run, operation, fuzz_world)
    elapsed = time.monotonic() - run.started
    assert elapsed < TIME_BUDGET_SECONDS, f"the fuzz run hit its {TIME_BUDGET_SECONDS} s budget"
    failures = sorted(run.failures)
    assert not failures, "\n\n".join(failures[:30]) + f"\n\n({len(failures)} distinct failures)"
    print(f"fuzzed {len(operations)} operations with {sum(run.counts.values())} requests in "
          f"{elapsed:.1f} s: responses by class {run.counts}")
    # The run got past authentication and validation: many successes as well as refusals.
    assert len(operations) >= 60 and run.counts.get(2, 0) > 200 and run.counts.get(4, 0) > 500, \
        run.counts

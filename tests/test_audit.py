"""The audit trail: who, when, before and after; a hash chain that reveals tampering."""
import ast
import re
from pathlib import Path

from sqlalchemy import select, text

from conftest import account_body
from govmedia.audit import verify
from govmedia.extensions import db
from govmedia.models import AuditEntry


def _changes(world):
    account = world.sponsor_a.post("/api/v1/accounts", account_body(world.unit_a["id"])).get_json()
    world.sponsor_a.post(f"/api/v1/accounts/{account['id']}/events",
                         {"kind": "change", "event_date": "2026-11-12", "reason": "更名",
                          "changes": {"name": "某县政务"}})
    return account


def test_every_change_is_recorded_with_who_and_before_after(world):
    account = _changes(world)
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    actions = [e.action for e in entries]
    assert actions[:2] == ["unit.create", "unit.create"]
    assert "user.create" not in actions  # fixture users are made directly, not through services
    change = next(e for e in entries if e.action == "account.change")
    assert change.username == "sponsor_a" and change.object_id == account["id"]
    assert change.before["name"] == "某县发布" and change.after["name"] == "某县政务"
    assert change.at is not None


def test_chain_verifies_and_detects_tampering(world, app):
    _changes(world)
    result = verify()
    assert result.ok and result.checked >= 4
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.output
    victim = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "account.change")).one()
    db.session.execute(text("UPDATE audit_entries SET username = 'someone_else' WHERE id = :i"),
                       {"i": victim.id})
    db.session.commit()
    db.session.expire_all()
    broken = verify()
    assert not broken.ok and broken.broken_id == victim.id and broken.problem == "content altered"
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1 and f"entry {victim.id}" in bad.output


def test_deleting_an_entry_breaks_the_link(world):
    _changes(world)
    ids = db.session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()
    db.session.execute(text("DELETE FROM audit_entries WHERE id = :i"), {"i": ids[1]})
    db.session.commit()
    result = verify()
    assert not result.ok and result.broken_id == ids[2] and "link" in result.problem


def test_no_api_route_edits_or_deletes_audit(app):
    rules = [r for r in app.url_map.iter_rules() if "audit" in r.rule]
    assert all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in rules)


def test_failed_change_leaves_no_audit_entry(world):
    before = db.session.scalar(select(db.func.count()).select_from(AuditEntry))
    world.sponsor_a.post("/api/v1/accounts", account_body(world.unit_a["id"]))
    after_ok = db.session.scalar(select(db.func.count()).select_from(AuditEntry))
    refused = world.sponsor_a.post("/api/v1/accounts", account_body(world.unit_a["id"], handle="gh_x"))
    assert refused.status_code == 409
    assert db.session.scalar(select(db.func.count()).select_from(AuditEntry)) == after_ok == before + 1


# The actions recorded through an f-string, each of its values (a new one must be listed).
ACTION_TEMPLATES = {
    "account.{data.kind}": {"account.change", "account.close", "account.reopen",
                            "account.deregister"},
    "delivery.{status}": {"delivery.retrying", "delivery.unconfirmed", "delivery.failed"},
    "task.{task.kind}.done": {"task.publish.done", "task.takedown.done"},
}
DOTTED = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")


def recorded_actions() -> dict[str, str]:
    """Every action the code records (audit.record, record_audit), read from the source:
    action -> where. A variable is followed to the dotted strings assigned to it."""
    root = Path(__file__).resolve().parent.parent
    found = {}
    for package in ("govmedia", "registry", "interaction", "notices", "publisher"):
        for path in (root / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for function in ast.walk(tree):
                if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                assigned = {}
                for node in ast.walk(function):
                    if isinstance(node, ast.Assign):
                        for target in node.targets:
                            if isinstance(target, ast.Name):
                                assigned.setdefault(target.id, []).append(node.value)
                for node in ast.walk(function):
                    if not (isinstance(node, ast.Call) and node.args and ast.unparse(
                            node.func) in ("audit.record", "record_audit")):
                        continue
                    where = f"{path.relative_to(root)}:{node.lineno}"
                    first = node.args[0]
                    if isinstance(first, ast.Constant):
                        found[first.value] = where
                    elif isinstance(first, ast.JoinedStr):
                        template = ast.unparse(first)[2:-1]
                        assert template in ACTION_TEMPLATES, f"list the values of {template}"
                        found.update({a: where for a in ACTION_TEMPLATES[template]})
                    else:  # a variable, or an expression choosing between actions
                        values = (assigned.get(first.id, []) if isinstance(first, ast.Name)
                                  else [first])
                        for value in values:
                            for const in ast.walk(value):
                                if isinstance(const, ast.Constant) and isinstance(
                                        const.value, str) and DOTTED.match(const.value):
                                    found[const.value] = where
    return found


def test_every_recorded_action_has_words(app):
    from registry.audit_words import ACTIONS, action_words

    found = recorded_actions()
    assert {"unit.move", "filing.correct", "task.publish.done", "article.return"} <= set(found)
    missing = {action: where for action, where in found.items() if action not in ACTIONS}
    assert not missing, f"actions shown as raw keys in the audit log: {missing}"
    with app.test_request_context("/?lang=zh"):
        assert action_words("task.publish.done") == "发布任务已完成"

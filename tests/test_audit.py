"""The audit trail: who, when, before and after; a hash chain that reveals tampering."""
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

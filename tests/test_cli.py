"""Command-line bootstrap: demo data, holidays show."""
from sqlalchemy import func, select

from govmedia.audit import verify
from govmedia.extensions import db
from registry.models import Account, Filing


def test_demo_loads_once_and_prints_logins(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "--password", "Demo-pass-123"])
    assert first.exit_code == 0, first.output
    assert "admin / Demo-pass-123" in first.output
    # WeChat, Weibo, Douyin and 视频号 of the office (the last one published to by tasks), and
    # the education bureau's closed Douyin account.
    assert db.session.scalar(select(func.count()).select_from(Account)) == 5
    assert db.session.scalar(select(Account.platform).where(Account.handle == "sphDemo0Office1")) \
        == "channels"
    assert db.session.scalar(select(func.count()).select_from(Filing)) == 6
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and "already present" in again.output
    assert db.session.scalar(select(func.count()).select_from(Account)) == 5
    assert verify().ok
    login = app.test_client().post("/api/v1/auth/tokens",
                                   json={"username": "sponsor", "password": "Demo-pass-123"})
    assert login.status_code == 201


def test_holidays_show_says_provisional_for_unknown_year(app):
    runner = app.test_cli_runner()
    known = runner.invoke(args=["holidays", "show", "2026"])
    assert known.exit_code == 0 and "chinese-calendar" in known.output
    unknown = runner.invoke(args=["holidays", "show", "2027"])
    assert "provisional" in unknown.output and "2027-02-05 春节" in unknown.output

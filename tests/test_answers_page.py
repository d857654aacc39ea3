"""The knowledge base's page (issue 14, seed 001 §32): reference answers listed, searched,
added, edited, retired and restored by a unit's sponsors and editors, read by the rest of
the unit and by supervisors; bad input named beside its field, nothing written."""
from conftest import PASSWORD, make_user
from sqlalchemy import func, select

from govmedia.extensions import db
from interaction.models import ReferenceAnswer


def page_client(app, username):
    client = app.test_client()
    assert client.post("/login", data={"username": username,
                                       "password": PASSWORD}).status_code == 302
    return client


def token(client) -> str:
    html = client.get("/answers").get_data(as_text=True)
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def add(client, unit_id, topic, answer, question=""):
    return client.post("/answers", data={"unit_id": str(unit_id), "topic": topic,
                                         "answer": answer, "question": question})


def test_a_sponsor_keeps_the_units_answers_and_others_only_read_them(app, world):
    a, b = world.unit_a["id"], world.unit_b["id"]
    make_user("editor_a", ["editor"], a)
    sponsor, other = page_client(app, "sponsor_a"), page_client(app, "sponsor_b")
    assert add(sponsor, a, "社保卡补办", "请携带身份证到区政务服务中心办理。",
               "社保卡丢了怎么补办").status_code == 302
    assert add(sponsor, a, "公积金提取", "可在公积金网上服务大厅申请。").status_code == 302
    assert add(other, b, "入学报名", "请关注教育局公众号的报名通知。").status_code == 302
    listed = sponsor.get("/answers").get_data(as_text=True)
    assert "社保卡补办" in listed and "公积金提取" in listed and "入学报名" not in listed
    # One unit: no unit to choose, the form carries the sponsor's own.
    assert 'name="unit_id"><option' not in listed
    assert f'type="hidden" name="unit_id" value="{a}"' in listed
    # Search over the topic, the question and the answer text.
    found = sponsor.get("/answers?q=身份证").get_data(as_text=True)
    assert "社保卡补办" in found and "公积金提取" not in found
    assert "社保卡补办" in sponsor.get("/answers?q=丢了").get_data(as_text=True)
    # Another unit's sponsor cannot open it; a supervisor reads it without a form.
    row = db.session.scalar(select(ReferenceAnswer).where(ReferenceAnswer.topic == "社保卡补办"))
    assert other.get(f"/answers/{row.id}").status_code == 403
    supervisor = page_client(app, "supervisor")
    # Every unit in reach: a unit filter, and only unit B's answers when it is chosen.
    chosen = supervisor.get(f"/answers?unit_id={b}").get_data(as_text=True)
    assert 'name="unit_id"><option value="">' in chosen
    assert "入学报名" in chosen and "社保卡补办" not in chosen
    seen = supervisor.get(f"/answers/{row.id}")
    assert seen.status_code == 200 and "请携带身份证" in seen.get_data(as_text=True)
    assert 'id="answer-form"' not in seen.get_data(as_text=True)
    assert supervisor.post(f"/answers/{row.id}", data={"action": "retire"}).status_code == 403
    # The unit's editor edits it; then it is retired and offered again.
    editor = page_client(app, "editor_a")
    assert editor.post(f"/answers/{row.id}", data={
        "action": "save", "topic": "社保卡补办", "answer": "可在线申请补办，邮寄到家。"}
    ).status_code == 302
    db.session.refresh(row)
    assert row.answer == "可在线申请补办，邮寄到家。"
    assert sponsor.post(f"/answers/{row.id}", data={"action": "retire"}).status_code == 302
    assert "社保卡补办" not in sponsor.get("/answers").get_data(as_text=True)
    assert "社保卡补办" in sponsor.get("/answers?retired=1").get_data(as_text=True)
    db.session.refresh(row)
    assert row.retired
    assert sponsor.post(f"/answers/{row.id}", data={"action": "restore"}).status_code == 302
    db.session.refresh(row)
    assert not row.retired


def test_bad_input_is_named_beside_its_field_and_nothing_is_written(app, world):
    a = world.unit_a["id"]
    sponsor = page_client(app, "sponsor_a")
    before = db.session.scalar(select(func.count()).select_from(ReferenceAnswer))
    empty_topic = add(sponsor, a, "   ", "有答复")
    html = empty_topic.get_data(as_text=True)
    assert empty_topic.status_code == 400
    assert 'id="err-topic"' in html and "有答复" in html      # the typed answer is kept
    too_long = add(sponsor, a, "太长", "字" * 2001)
    assert too_long.status_code == 400 and 'id="err-answer"' in too_long.get_data(as_text=True)
    no_answer = add(sponsor, a, "没有答复", "")
    assert no_answer.status_code == 400 and 'id="err-answer"' in no_answer.get_data(as_text=True)
    # A unit the sponsor does not reach is refused, not created there.
    assert add(sponsor, world.unit_b["id"], "越权", "不应保存").status_code in (403, 404)
    assert db.session.scalar(select(func.count()).select_from(ReferenceAnswer)) == before
    # English on request: the message in English alone.
    english = sponsor.post("/answers?lang=en", data={"unit_id": str(a), "topic": "",
                                                     "answer": "有答复"})
    assert english.status_code == 400
    assert "Give the reference answer a topic" in english.get_data(as_text=True)

"""The content checks as pure functions: each rule, offsets into the HTML, the matcher cache."""
from publisher import checks
from publisher.checks import Content, build_matcher, compiled_matcher, html_text, run_checks

MATCHER = build_matcher({"banned": ["法轮功", "Badword"], "caution": ["领导人"],
                         "advertising": ["最佳", "国家级"], "domain": ["gov.cn", "example.org"]})


def found(body="", **fields):
    content = Content(title=fields.pop("title", "标题"), body_html=body, **fields)
    return run_checks(content, MATCHER)


def rules(body="", **fields):
    return {(f["rule"], f["match"]) for f in found(body, **fields)}


def test_resident_id_numbers_need_a_valid_check_digit():
    assert ("id_number", "11010519491231002X") in rules("<p>身份证号11010519491231002X。</p>")
    assert ("id_number", "11010519491231002x") in rules("<p>11010519491231002x</p>")
    assert not {r for r, _ in rules("<p>身份证号110105194912310021。</p>")} & {"id_number"}
    assert not {r for r, _ in rules("<p>订单号A11010519491231002X</p>")} & {"id_number"}
    assert not {r for r, _ in rules("<p>流水号911010519491231002X9</p>")} & {"id_number"}


def test_mobile_numbers_in_their_usual_spellings():
    for text, match in [("电话13800138000。", "13800138000"),
                        ("电话 138-0013-8000", "138-0013-8000"),
                        ("电话+86 13800138000", "+86 13800138000"),
                        ("电话008613800138000", "008613800138000")]:
        assert ("mobile_number", match) in rules(f"<p>{text}</p>"), text
    for text in ("座机0771-5551234", "编号213800138000", "12800138000", "1380013800"):
        assert "mobile_number" not in {r for r, _ in rules(f"<p>{text}</p>")}, text


def test_secrecy_marks():
    for mark in ("绝密", "机密", "秘密★", "秘密 ★", "★秘密", "内部资料", "注意保存"):
        assert "secrecy_mark" in {r for r, _ in rules(f"<p>本件{mark}五年</p>")}, mark
    assert "secrecy_mark" not in {r for r, _ in rules("<p>保守秘密是每个公民的义务。</p>")}


def test_words_are_found_across_inline_tags_and_case_but_not_across_paragraphs():
    assert ("banned_word", "法轮功") in rules("<p>法<b>轮</b>功</p>")
    assert ("banned_word", "Badword") in rules("<p>a BADWORD here</p>")
    assert "banned_word" not in {r for r, _ in rules("<p>法轮</p><p>功</p>")}
    assert ("caution_word", "领导人") in rules("<p>领导人</p>")
    assert ("advertising", "最佳") in rules("<p>最佳选择</p>")


def test_offsets_point_into_the_stored_html():
    body = "<p>A&amp;B <strong>机密</strong>，联系&nbsp;13800138000</p>"
    by_rule = {f["rule"]: f for f in found(body)}
    for rule, text in (("secrecy_mark", "机密"), ("mobile_number", "13800138000")):
        f = by_rule[rule]
        assert body[f["start"]:f["end"]] == text, rule
        assert f["positions"] == [[f["start"], f["end"]]]
    mapped = html_text(body)
    assert mapped.text == "\nA&B 机密，联系\xa013800138000\n"
    start = mapped.text.index("&")
    assert mapped.span(start, start + 1) == (4, 9)   # the whole entity


def test_links_outside_the_allow_list():
    body = ('<p><a href="https://www.example.gov.cn/a">政府网站</a> '
            '<a href="https://shop.example.com/x">商城</a> 见 www.foo.cn/y '
            '<img src="https://cdn.example.org/a.png"></p>')
    hosts = {m for r, m in rules(body) if r == "external_link"}
    assert hosts == {"shop.example.com", "www.foo.cn"}
    assert ("external_link", "evil.cn") in rules("", source_url="https://evil.cn/a")
    assert checks.host_allowed("www.nanning.gov.cn", ["gov.cn"])
    assert not checks.host_allowed("gov.cn.evil.com", ["gov.cn"])


def test_traditional_and_variant_characters_with_their_standard_forms():
    result = {f["match"]: f for f in found("<p>這是後面的裏面，乾隆年间</p>")
              if f["rule"] == "traditional_chars"}
    assert {m: f["suggestion"] for m, f in result.items()} == {"這": "这", "後": "后", "裏": "里"}
    plain = "<p>为深入贯彻落实党中央决策部署，县政府办公室印发通知，于是出台了一系列措施，乾隆年间的著作。</p>"
    assert "traditional_chars" not in {r for r, _ in rules(plain)}


def test_per_target_requirements_and_the_weibo_limit():
    both = frozenset({"wechat", "weibo"})
    assert {r for r, _ in rules("<p>正文</p>", title="", platforms=both)} == {
        "missing_title", "missing_cover", "missing_link"}
    assert not rules("<p>正文</p>", has_cover=True, source_url="https://a.gov.cn/1",
                     platforms=both)
    long = run_checks(Content(title="标题", body_html="<p>x</p>", weibo_text="字" * 130,
                              source_url="https://a.gov.cn/1", platforms=frozenset({"weibo"})),
                      MATCHER)
    assert [f["rule"] for f in long] == ["weibo_too_long"]
    assert checks.weibo_post(Content(title="标题", source_url="https://a.gov.cn/1")) == \
        "标题 https://a.gov.cn/1"


def test_severities_can_be_changed_and_blocking_findings_come_first():
    result = run_checks(Content(title="標题", body_html="<p>机密</p>"), MATCHER,
                        {"traditional_chars": "block", "secrecy_mark": "warn"})
    assert [(f["rule"], f["severity"]) for f in result] == [("traditional_chars", "block"),
                                                            ("secrecy_mark", "warn")]


def test_the_compiled_matcher_is_cached_per_version():
    calls = []

    def load():
        calls.append(1)
        return {"banned": ["甲乙"]}

    first = compiled_matcher("test-version-1", load)
    assert compiled_matcher("test-version-1", load) is first and len(calls) == 1
    second = compiled_matcher("test-version-2", lambda: {"banned": ["丙丁"]})
    assert second is not first and second.words == 1


def test_many_different_hits_are_summarised():
    words = [chr(0x4E00 + i) + chr(0x4E00 + i + 1) for i in range(0, 800, 2)]
    matcher = build_matcher({"banned": words})
    result = run_checks(Content(title="t", body_html="<p>" + "".join(words) + "</p>"), matcher)
    banned = [f for f in result if f["rule"] == "banned_word"]
    assert len(banned) == checks.MAX_WORD_FINDINGS + 1
    assert banned[-1]["match"] == "…" and banned[-1]["count"] == len(words) - checks.MAX_WORD_FINDINGS

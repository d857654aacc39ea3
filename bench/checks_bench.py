"""How fast the content checks run: a 50,000-character article against a 20,000-word list.

    .venv/bin/python bench/checks_bench.py [--words 20000] [--chars 50000] [--repeat 20]

Prints, measured in the same run on the same text and words: the Aho-Corasick matcher of
publisher.checks (word lists only, and every rule of run_checks) beside the naive baseline,
a plain `str.find` loop over every word (and pyahocorasick, when it is installed). Two
scenarios: realistic (words drawn from the whole CJK block, a few planted in the article)
and worst case (words drawn from the article's own characters: thousands of hits).
Not run in CI; figures go in docs/PUBLISHER.md.
"""
import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from publisher.checks import Content, build_matcher, run_checks

# Common simplified characters, so generated words and text look like Chinese prose.
ALPHABET = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下"
            "过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都"
            "两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新"
            "线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通"
            "并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组"
            "见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处府研质治")


def make_words(n: int, rng: random.Random, alphabet) -> list[str]:
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(alphabet) for _ in range(rng.randint(2, 6))))
    return sorted(words)


def make_text(chars: int, rng: random.Random, words: list[str], planted: float) -> str:
    out, length = [], 0
    while length < chars:
        para = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(80, 300))) + "。"
        if rng.random() < planted:  # some real hits
            para += rng.choice(words)
        out.append(para)
        length += len(para)
    return "".join(out)[:chars]


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=20_000)
    parser.add_argument("--chars", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(f"{args.chars:,}-character article (as HTML paragraphs) against a "
          f"{args.words:,}-word list (half banned, half caution); median of {args.repeat} runs")
    # realistic: words over the whole CJK block, so the article holds only the planted hits;
    # worst case: words over the article's own 300 common characters, so thousands match.
    cjk = [chr(c) for c in range(0x4E00, 0x9FA6)]
    for name, alphabet, planted in (("realistic", cjk, 0.05), ("worst case", ALPHABET, 0.3)):
        scenario(name, args, alphabet, planted)


def scenario(name, args, alphabet, planted) -> None:
    rng = random.Random(20261120)
    words = make_words(args.words, rng, alphabet)
    text = make_text(args.chars, rng, words, planted)
    half = len(words) // 2
    terms = {"banned": words[:half], "caution": words[half:], "domain": ["gov.cn"]}

    start = time.perf_counter()
    matcher = build_matcher(terms)
    build_ms = (time.perf_counter() - start) * 1000

    def aho():
        return len(matcher.automaton.find_matches_as_indexes(text, overlapping=True))

    py_automaton = None
    try:  # the other maintained binding, for comparison (not a dependency)
        import ahocorasick

        py_automaton = ahocorasick.Automaton()
        for word in words:
            py_automaton.add_word(word, word)
        py_automaton.make_automaton()
    except ImportError:
        pass

    def naive():
        hits = 0
        for word in words:
            at = text.find(word)
            while at != -1:
                hits += 1
                at = text.find(word, at + 1)
        return hits

    html = "".join(f"<p>{text[i:i + 500]}</p>" for i in range(0, len(text), 500))
    content = Content(title="关于进一步加强政务新媒体管理的通知", body_html=html,
                      source_url="https://www.example.gov.cn/a/1.html", has_cover=True,
                      platforms=frozenset({"wechat", "weibo"}))
    run_checks(content, matcher)  # warm OpenCC's dictionaries once, as a web process would

    aho_ms, aho_hits = timed(aho, args.repeat)
    naive_ms, naive_hits = timed(naive, max(3, args.repeat // 5))
    full_ms, findings = timed(lambda: run_checks(content, matcher), args.repeat)
    assert aho_hits == naive_hits, (aho_hits, naive_hits)

    print(f"\n[{name}] {aho_hits} word hits in the article")
    print(f"  build the automaton (once per list version, then cached): {build_ms:8.1f} ms")
    print(f"  word lists, Aho-Corasick (ahocorasick_rs, what we use):   {aho_ms:8.2f} ms")
    if py_automaton is not None:
        py_ms, py_hits = timed(lambda: sum(1 for _ in py_automaton.iter(text)), args.repeat)
        assert py_hits == aho_hits
        print(f"  word lists, Aho-Corasick (pyahocorasick, for comparison): {py_ms:8.2f} ms")
    print(f"  word lists, naive str.find loop over every word:          {naive_ms:8.2f} ms"
          f"  ({naive_ms / aho_ms:,.0f}x slower)")
    print(f"  every rule, run_checks (HTML body, title, link):          {full_ms:8.2f} ms"
          f"  ({len(findings)} findings)")
    print(f"  bar (< 20 ms for the whole check): {'PASS' if full_ms < 20 else 'FAIL'}")

if __name__ == "__main__":
    main()

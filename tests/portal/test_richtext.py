"""Markdown drawn once per text and process, by one converter per thread: what a text shows
never depends on the texts drawn before it or beside it."""

import sys
import threading

from portal import richtext
from portal.richtext import LONGEST_KEPT, render_markdown


def test_a_link_defined_in_one_text_does_not_resolve_in_the_next():
    first = render_markdown("See [the plan][plan].\n\n[plan]: https://example.org/plan")
    second = render_markdown("See [the plan][plan].")
    assert '<a href="https://example.org/plan" rel="noopener noreferrer nofollow">the plan</a>' in first
    assert "href" not in second
    assert second == "<p>See [the plan][plan].</p>"


def test_the_same_text_reads_the_same_each_time_and_is_drawn_once():
    richtext._kept_html.cache_clear()
    text = "## Week one\n\n| Day | Minutes |\n| --- | --- |\n| Mon | 10 |"
    first = render_markdown(text)
    assert render_markdown(text) == first
    assert "<h4>Week one</h4>" in first and "<td>10</td>" in first
    assert richtext._kept_html.cache_info().hits == 1


def test_long_texts_are_drawn_each_time_and_still_sanitised():
    richtext._kept_html.cache_clear()
    text = "<script>alert(1)</script>" + "word " * (LONGEST_KEPT // 5 + 1)
    html = render_markdown(text)
    assert "<script>" not in html and html.count("word") == LONGEST_KEPT // 5 + 1
    assert richtext._kept_html.cache_info().currsize == 0


def test_threads_drawing_at_once_each_get_their_own_text():
    richtext._kept_html.cache_clear()
    many = "\n".join(f"* line {k}" for k in range(50))
    texts = [f"Text {n}\n\n* item {n}\n* [link {n}][ref]\n{many}\n\n[ref]: https://example.org/{n}" for n in range(20)]
    results: dict[int, str] = {}

    def draw(n: int) -> None:
        for _ in range(5):
            richtext._kept_html.cache_clear()
            results[n] = str(render_markdown(texts[n]))

    threads = [threading.Thread(target=draw, args=(n,)) for n in range(len(texts))]
    # Threads take turns as often as the interpreter allows, so conversions interleave.
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    for n, html in results.items():
        assert f"<li>item {n}</li>" in html
        assert f'href="https://example.org/{n}"' in html
        assert all(f"item {other}<" not in html for other in range(20) if other != n)

"""The dashboard's "by level" table a page at a time: a flat registry's top holds hundreds or
thousands of units (issue 12's county had 206), and a page of fifty of them is what a
supervisor reads; the total row still sums every one."""
import re

from conftest import PASSWORD
from govmedia.extensions import db
from govmedia.pagination import PER_PAGE
from registry.models import Unit


def test_the_levels_children_come_a_page_at_a_time_and_the_total_counts_them_all(app, world):
    extra = PER_PAGE + 5 - 2          # the world's two units and these: 55 at the top
    db.session.add_all([Unit(name=f"第{n:03d}街道办事处") for n in range(extra)])
    db.session.commit()

    api = world.supervisor.get("/api/v1/supervision/levels").get_json()
    assert api["children_total"] == PER_PAGE + 5 and len(api["children"]) == PER_PAGE + 5
    paged = world.supervisor.get("/api/v1/supervision/levels", limit=10, offset=50).get_json()
    assert paged["children_total"] == PER_PAGE + 5
    assert [c["unit_id"] for c in paged["children"]] == [c["unit_id"] for c in
                                                          api["children"][50:60]]
    assert paged["total"] == api["total"] and paged["total"]["units"] == PER_PAGE + 5

    client = app.test_client()
    client.post("/login", data={"username": "supervisor", "password": PASSWORD})

    def level_rows(path):
        html = client.get(path).get_data(as_text=True)
        table = html[html.index('id="level-table"'):html.index("</table>",
                                                                html.index('id="level-table"'))]
        return html, re.findall(r"under=(\d+)", table)

    html, first = level_rows("/supervision")
    assert len(first) == PER_PAGE and 'id="level-pager"' in html
    pager = html[html.index('id="level-pager"'):html.index("</nav>", html.index('id="level-pager"'))]
    assert "第 1 页，共 2 页" in pager and "level_page=2" in pager
    html, second = level_rows("/supervision?level_page=2")
    assert len(second) == 5 and not set(first) & set(second)
    assert {int(u) for u in first + second} == {c["unit_id"] for c in api["children"]}

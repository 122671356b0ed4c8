"""Chinese search on PostgreSQL (archive.catalogue.postgres_search) against Python's `in` and the SQLite engine."""

from __future__ import annotations

import json
import random
import sqlite3

import psycopg
import pytest

from archive.catalogue import postgres_search as pgs
from archive.catalogue.fts.engine import search as sqlite_search
from archive.catalogue.fts.index import rebuild_index
from archive.search import QueryError, parse_query
from archive.search.text import media_text, plain
from replica.synthetic_catalogue import build_synthetic_catalogue

ARTICLES = 240


def _sqlite_versions(path) -> list[dict]:
    """Version rows of a SQLite catalogue, as the PostgreSQL index takes them."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    rows = conn.execute("""SELECT v.id AS version_id, v.article_id, v.title, v.body_text, v.images, v.attachments,
        v.source, v.column_name, v.published, v.flags, a.status = 'live' AS live,
        v.id = a.current_version AS current FROM versions v JOIN articles a ON a.id = v.article_id""").fetchall()
    conn.close()
    return [dict(row) for row in rows]


@pytest.fixture(scope="module")
def corpus(postgres, tmp_path_factory):
    """The same synthetic archive in SQLite (with its search index) and in the PostgreSQL index."""
    path = tmp_path_factory.mktemp("pgsearch") / "catalog.sqlite"
    build_synthetic_catalogue(path, ARTICLES)
    lite = sqlite3.connect(path)
    lite.row_factory = sqlite3.Row
    # A few articles withdrawn and a few with integrity flags, so the state filters have work to do.
    lite.execute("UPDATE articles SET status = 'withdrawn' WHERE id % 37 = 0")
    lite.execute("""UPDATE versions SET flags = '["spam_keywords"]' WHERE id % 29 = 0""")
    lite.commit()
    rebuild_index(lite)
    versions = _sqlite_versions(path)
    url = postgres.create_database()
    conn = psycopg.connect(url)
    pgs.create(conn)
    pgs.load(conn, versions)
    pgs.build_index(conn)
    yield {"sqlite": lite, "pg": conn, "versions": versions}
    conn.close()
    lite.close()
    postgres.drop_database(url)


def _texts(version: dict) -> tuple[str, str, str]:
    return (plain(version["title"]), plain(version["body_text"]),
            plain(media_text(version["images"], version["attachments"])))


def _expected(corpus, text: str) -> set[int]:
    """Current versions of live articles whose title, body or media contain `text` (Python's `in`)."""
    return {v["version_id"] for v in corpus["versions"]
            if v["live"] and v["current"] and any(text in field for field in _texts(v))}


def _pg(corpus, query: str, **filters) -> tuple[int, list[int]]:
    total, hits = pgs.search(corpus["pg"], parse_query(query), pgs.Filters(**filters), "date", None)
    return total, [vid for vid, _ in hits]


def _quoted(text: str) -> str:
    return '"' + text + '"' if " " in text else text


def test_random_substrings_are_found_exactly(corpus):
    rng = random.Random(12)
    checked = 0
    while checked < 60:
        version = rng.choice(corpus["versions"])
        field = rng.choice([f for f in _texts(version) if f])
        length = rng.randint(1, 6)
        start = rng.randrange(0, max(1, len(field) - length))
        text = field[start:start + length].strip()
        if not any(ch.isalnum() for ch in text) or '"' in text or text.startswith("-") or \
                text in ("OR", "AND", "NOT") or len(text.split()) != len(text.split(" ")):
            continue
        query = parse_query(_quoted(text))
        if len(query.terms) != 1 or query.terms[0].plain != text:
            continue  # the query language reads it otherwise (quotes, a leading minus...)
        total, found = _pg(corpus, _quoted(text))
        expected = _expected(corpus, text)
        assert set(found) == expected, text
        assert total == len(expected), text
        checked += 1


@pytest.mark.parametrize("query", ["化", "化工", "园区", "工业强市", "化工 园区", '"工业强市 产业兴市"', "“专精特新”企业",
                                   "化工 OR 园区 -招商", "IMG", "2021年", "jpg", "滕州市"])
def test_same_hits_in_the_same_order_as_sqlite(corpus, query):
    lite = sqlite_search(corpus["sqlite"], query, order="date", limit=None, snippets=False)
    total, found = _pg(corpus, query)
    assert found == [hit.version_id for hit in lite]
    assert total == lite.total
    assert total > 0 or query == "IMG"


FILTERS = [
    {"since": "2020-01-01", "until": "2021-12-31"},
    {"until": "2016-12-31"},
    {"source": "滕州日报"},
    {"source": "滕州日报 市信息化服务中心"},
    {"column": "工业经济"},
    {"has_images": True},
    {"has_images": False},
    {"flags": ["any"]},
    {"flags": ["spam_keywords", "hijacked_city_name"]},
    {"include_withdrawn": True},
    {"all_versions": True, "include_withdrawn": True, "since": "2018-01-01"},
]


@pytest.mark.parametrize("filters", FILTERS, ids=[json.dumps(f, ensure_ascii=False) for f in FILTERS])
def test_filters_as_sqlite(corpus, filters):
    for query in ("企业", "化工 OR 园区", "工业强市、产业兴市"):
        lite = sqlite_search(corpus["sqlite"], query, order="date", limit=None, snippets=False, **filters)
        total, found = _pg(corpus, query, **filters)
        assert found == [hit.version_id for hit in lite], (query, filters)
        assert total == lite.total


def test_paging_walks_the_same_list(corpus):
    total, everything = _pg(corpus, "企业")
    pages = []
    for offset in range(0, total, 50):
        page_total, hits = pgs.search(corpus["pg"], parse_query("企业"), None, "date", 50, offset)
        assert page_total == total
        pages += [vid for vid, _ in hits]
    assert pages == everything
    ranked_total, ranked = pgs.search(corpus["pg"], parse_query("企业"), None, "relevance", None, 0, rank_pool=40)
    assert sorted(vid for vid, _ in ranked) == sorted(everything)
    assert [vid for vid, _ in ranked[40:]] == [vid for vid in everything if vid not in {v for v, _ in ranked[:40]}]


def test_bad_queries_and_filters(corpus):
    conn = corpus["pg"]
    with pytest.raises(QueryError):
        pgs.search(conn, parse_query("化工"), None, "newest", 20, 0)
    with pytest.raises(QueryError):
        pgs.search(conn, parse_query("化工"), None, "date", -1, 0)
    with pytest.raises(QueryError):
        pgs.search(conn, parse_query("化工"), pgs.Filters(source="——"), "date", 20, 0)
    with pytest.raises(QueryError):
        pgs.search(conn, parse_query("化工"), pgs.Filters(since="last week"), "date", 20, 0)
    # Quotes, backslashes and marks are text, not SQL or tsquery syntax.
    for text in ("a'b", "x\\y", "'化工' | '园区'", "化工:*", "!化工", "化工 & 园区"):
        total, hits = pgs.search(conn, parse_query(text), None, "date", 20, 0)
        assert total == len(_expected(corpus, parse_query(text).terms[0].plain)) or len(parse_query(text).terms) > 1


@pytest.fixture
def small(postgres_url):
    conn = psycopg.connect(postgres_url)
    pgs.create(conn)
    conn.commit()
    yield conn
    conn.close()


def _version(vid: int, title: str, body: str, **extra) -> dict:
    return {"version_id": vid, "article_id": extra.pop("article_id", vid), "title": title, "body_text": body,
            "images": extra.pop("images", "[]"), "attachments": "[]", "source": extra.pop("source", "市工信局"),
            "column_name": "工业经济", "published": extra.pop("published", "2024-05-01"), "flags": "[]", **extra}


def test_title_weighs_more_than_body(small):
    pgs.index_versions(small, [
        _version(1, "园区新闻", "化工园区建设。" * 3),
        _version(2, "化工园区建设", "园区新闻。" * 3),
        _version(3, "新闻", "没有那个词。"),
    ])
    total, hits = pgs.search(small, parse_query("化工"), None, "relevance", 20, 0)
    assert total == 2
    assert [vid for vid, _ in hits] == [2, 1]
    assert hits[0][1] > hits[1][1] > 0


def test_versions_replaced_withdrawn_and_removed(small):
    pgs.index_versions(small, [_version(1, "旧标题", "化工企业"), _version(2, "另一篇", "园区企业", published=None)])
    assert pgs.search(small, parse_query("化工"), None, "date", 20, 0)[0] == 1
    pgs.index_versions(small, [_version(1, "新标题", "园区企业")])  # edited: indexed again under its id
    assert pgs.search(small, parse_query("化工"), None, "date", 20, 0)[0] == 0
    assert pgs.search(small, parse_query("园区"), None, "date", 20, 0)[0] == 2
    assert pgs.search(small, parse_query("园区"), pgs.Filters(since="2000-01-01"), "date", 20, 0)[0] == 1  # undated
    pgs.set_state(small, 1, live=False)
    assert pgs.search(small, parse_query("园区"), None, "date", 20, 0)[1] == [(2, None)]
    assert pgs.search(small, parse_query("园区"), pgs.Filters(include_withdrawn=True), "date", 20, 0)[0] == 2
    pgs.set_state(small, 2, current=False)
    assert pgs.search(small, parse_query("园区"), pgs.Filters(include_withdrawn=True), "date", 20, 0)[0] == 1
    assert pgs.search(small, parse_query("园区"), pgs.Filters(include_withdrawn=True, all_versions=True),
                      "date", 20, 0)[0] == 2
    assert not pgs.set_state(small, 99, live=False)
    assert pgs.unindex(small, [1, 2, 99]) == 2
    assert pgs.search(small, parse_query("园区"), pgs.Filters(all_versions=True, include_withdrawn=True),
                      "date", 20, 0)[0] == 0


def test_site_and_section_filters_and_odd_text(small):
    pgs.index_versions(small, [
        _version(1, "标题", "控制\x01字符\x02不是分隔符 a'b x\\y", site="tengzhou", section="gyjj"),
        _version(2, "标题", "全角ＡＢＣ与abc", site="zaozhuang", section="gyjj"),
    ])
    assert pgs.search(small, parse_query("字符\x02不是"), None, "date", 20, 0)[0] == 1
    assert pgs.search(small, parse_query("ABC与"), None, "date", 20, 0)[0] == 1  # width and case folded
    assert pgs.search(small, parse_query("a'b"), None, "date", 20, 0)[0] == 1
    assert pgs.search(small, parse_query("x\\y"), None, "date", 20, 0)[0] == 1
    assert pgs.search(small, parse_query("标题"), pgs.Filters(site="tengzhou"), "date", 20, 0)[1] == [(1, None)]
    assert pgs.search(small, parse_query("标题"), pgs.Filters(section="gyjj"), "date", 20, 0)[0] == 2
    assert pgs.search(small, parse_query("标题"), pgs.Filters(site="nowhere"), "date", 20, 0)[0] == 0


def test_a_dead_server_is_an_error_not_an_empty_answer(postgres, small):
    pgs.index_versions(small, [_version(1, "标题", "化工")])
    small.commit()
    postgres.stop()
    try:
        with pytest.raises(psycopg.OperationalError):
            pgs.search(small, parse_query("化工"), None, "date", 20, 0)
    finally:
        postgres.start()

"""Full-text search over a 300-article synthetic catalogue (the seed article included), on both backends.

Every test here runs against SQLite and PostgreSQL through the catalogue
API (`catalogue.search`).  Hit sets are compared with a brute-force scan of
the same articles: SQL `instr()` over a SQLite copy for Chinese strings,
plain lower-case substring tests in Python for ASCII ones.  Tests that
change the catalogue work on a catalogue of their own, changed through the
fold (`apply`), as a crawl would change it.  The SQLite index's internals
have their own tests at the end.
"""

from __future__ import annotations

import random
import re
import sqlite3

import pytest

from archive.catalogue import open_catalogue
from archive.catalogue.events import Capture, Metadata, Position
from archive.catalogue.fts.engine import search as sqlite_search
from archive.catalogue.fts.index import index_versions, pending, rebuild_index
from archive.catalogue.sqlite import SqliteCatalogue, connect
from archive.search import IndexMissing, QueryError, parse_query
from archive.search.rank import RANK_POOL
from archive.search.snippet import html, make_snippet, marked
from archive.search.text import ascii_trigrams, fold, media_text
from replica.synthetic_catalogue import CRAWL_ID, build_synthetic_catalogue, fill_synthetic

ARTICLES = 300
SEED_DOCID = "6187593"  # the real article the replica is built around
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    """A SQLite catalogue of the same articles, for brute-force scans."""
    path = tmp_path_factory.mktemp("truth") / "catalog.sqlite"
    build_synthetic_catalogue(path, ARTICLES, bulk=True)
    conn = sqlite3.connect(path)
    yield conn
    conn.close()


def make_catalogue(backend: str, folder, request, articles: int = ARTICLES):
    """A catalogue of `articles` synthetic articles with its search index, on `backend`."""
    if backend == "sqlite":
        catalogue = SqliteCatalogue.open(folder / "catalog.sqlite")
    else:
        server = request.getfixturevalue("postgres")
        url = server.create_database()
        request.addfinalizer(lambda: server.drop_database(url))
        catalogue = open_catalogue(folder, url)
    fill_synthetic(catalogue, articles, bulk=True)
    catalogue.rebuild_index()
    request.addfinalizer(catalogue.close)
    return catalogue


@pytest.fixture(scope="module", params=BACKENDS)
def catalogue(request, tmp_path_factory):
    return make_catalogue(request.param, tmp_path_factory.mktemp(request.param), request)


@pytest.fixture(params=BACKENDS)
def own(request, tmp_path):
    """A catalogue of its own, for tests that change it."""
    return make_catalogue(request.param, tmp_path, request)


def found(catalogue, query, **filters) -> set[int]:
    return {hit.version_id for hit in catalogue.search(query, limit=None, **filters)}


def scan(truth, term: str, where: str = "a.status = 'live'") -> set[int]:
    """Versions (current ones by default) whose searched text contains `term`, by instr()."""
    rows = truth.execute(
        "SELECT v.id FROM versions v JOIN articles a ON a.id = v.article_id"
        f" WHERE v.id = a.current_version AND {where} AND (instr(v.title, :t) OR instr(v.body_text, :t)"
        " OR instr(v.images, :t) OR instr(v.attachments, :t))", {"t": term})
    return {row[0] for row in rows}


def scan_fields(truth, test) -> set[int]:
    """Current live versions for which test([title, body, media text]) is true."""
    rows = truth.execute(
        "SELECT v.id, v.title, v.body_text, v.images, v.attachments FROM versions v"
        " JOIN articles a ON a.id = v.article_id WHERE v.id = a.current_version AND a.status = 'live'")
    return {row[0] for row in rows if test([row[1] or "", row[2] or "", media_text(row[3], row[4])])}


def seed_version(truth) -> int:
    return truth.execute("SELECT current_version FROM articles WHERE url LIKE ?", (f"%{SEED_DOCID}%",)).fetchone()[0]


@pytest.mark.parametrize("term", ["化", "镇", "化工", "园区", "招商", "工业强市", "高质量发展"])
def test_chinese_terms_find_what_a_scan_finds(catalogue, truth, term):
    expected = scan(truth, term)
    assert expected, f"the corpus should contain {term}"
    assert found(catalogue, term) == expected


def test_random_substrings_find_exactly_what_a_scan_finds(catalogue, truth):
    """Substrings of 1 to 6 characters cut at random from the corpus, punctuation and all."""
    rng = random.Random(7)
    texts = [row[0] for row in truth.execute("SELECT title || ' ' || body_text FROM versions")]
    tried = 0
    while tried < 120:
        text = rng.choice(texts)
        start, size = rng.randrange(len(text)), rng.randint(1, 6)
        term = text[start:start + size]
        if (len(term) < size or any(ch.isspace() for ch in term) or not any(ch.isalnum() for ch in term)
                or term[0] in '-"“' or term in ("OR", "AND", "NOT")):
            continue
        tried += 1
        expected = scan_fields(truth, lambda fields, t=fold(term): any(t in fold(x) for x in fields))
        assert found(catalogue, term) == expected, term


def test_seed_article_is_found_by_its_words(catalogue, truth):
    seed = seed_version(truth)
    assert found(catalogue, "攻坚五问") == {seed}
    assert seed in found(catalogue, "工业强市") and seed in found(catalogue, "化工")


def test_results_count_and_page(catalogue, truth):
    results = catalogue.search("园区", limit=7)
    assert results.total == len(scan(truth, "园区")) and results.exact
    assert len(results.hits) == 7 and len(list(results)) == 7


def test_counts_stop_at_the_cap_and_say_so(catalogue, truth):
    everything = scan(truth, "工")
    assert len(everything) > 105
    for order, pool in (("date", None), ("relevance", 20)):  # the pool is counted at least
        capped = catalogue.search("工", order=order, limit=10, count_cap=50, rank_pool=pool)
        assert capped.total == 50 and not capped.exact and capped.count_text == "50+"
        deeper = catalogue.search("工", order=order, limit=10, offset=95, count_cap=50, rank_pool=pool)
        assert deeper.total == 105 and not deeper.exact and len(deeper.hits) == 10  # counted to the page's end
        exact = catalogue.search("工", order=order, limit=10, count_cap=None, rank_pool=pool)
        assert exact.total == len(everything) and exact.exact and exact.count_text == f"{len(everything):,}"
        assert [h.version_id for h in capped] == [h.version_id for h in exact]
    assert catalogue.search("工", limit=None, count_cap=50).total == len(everything)  # an export counts all
    pooled = catalogue.search("工", limit=10, count_cap=50)  # the newest RANK_POOL are counted, to be ranked
    assert pooled.total == min(RANK_POOL, len(everything)) and pooled.exact == (RANK_POOL >= len(everything))


def test_phrases(catalogue, truth):
    spaced = re.compile(r"工业强市\s+产业兴市")
    expected = scan_fields(truth, lambda f: any(spaced.search(x) for x in f))
    assert expected and found(catalogue, '"工业强市 产业兴市"') == expected
    assert found(catalogue, '"工业强市、产业兴市"') == scan(truth, "工业强市、产业兴市")  # punctuation is text
    assert found(catalogue, "工业强市、产业兴市") == scan(truth, "工业强市、产业兴市")
    assert found(catalogue, "“攻坚五问”") == found(catalogue, '"攻坚五问"') == found(catalogue, "攻坚五问")
    assert found(catalogue, '"工业强市，产业兴市"') == set()  # the text has 、 there, not ，


def test_and_or_not(catalogue, truth):
    chem, park, seed = scan(truth, "化工"), scan(truth, "园区"), scan(truth, "攻坚五问")
    assert found(catalogue, "化工 园区") == chem & park
    assert found(catalogue, "化工 AND 园区") == chem & park
    assert found(catalogue, "招商 OR 攻坚五问") == scan(truth, "招商") | seed
    assert found(catalogue, "化工 -园区") == chem - park
    assert found(catalogue, "化工 NOT 园区") == chem - park
    assert found(catalogue, '化工 -"园区"') == chem - park


def test_ascii_and_digits(catalogue, truth):
    seed = seed_version(truth)
    assert found(catalogue, "IMG_5158") == {seed}
    assert found(catalogue, "img_5158") == found(catalogue, "ＩＭＧ＿５１５８") == {seed}
    for term in ("2021", "img", "jpg", "5158", "2021年", "_副本.jpg", "3月15日"):
        expected = scan_fields(truth, lambda fields, t=term: any(t in fold(x) for x in fields))
        assert expected and found(catalogue, term) == expected, term


NARROWED = ["IMG_5158", "img_5158 -图为", "2021年 OR jpg", "5158 滕州", '"_副本.jpg"', "3月15日 OR 5158", "jpg -img",
            "2021 OR 化工"]


@pytest.mark.parametrize("query", NARROWED)
def test_words_with_ascii_checked_through_their_trigrams_find_what_fts5_finds(catalogue, query, monkeypatch):
    if not isinstance(catalogue, SqliteCatalogue):
        pytest.skip("the SQLite index's own shortcut")
    from archive.catalogue.fts import engine

    def everything(**filters):
        return {order: [(hit.version_id, hit.score) for hit in catalogue.search(
            query, order=order, limit=None, count_cap=None, rank_pool=None, **filters).hits]
            for order in ("relevance", "date")}

    answers = []
    for rows in (0, 10**6):  # never checked through the text, always
        monkeypatch.setattr(engine, "NARROW_ROWS", rows)
        answers.append([everything(), everything(since="2024-01-01"), everything(has_images=True),
                        everything(all_versions=True, include_withdrawn=True)])
    assert answers[0] == answers[1]
    assert any(answers[0][0].values()), query  # the query finds something


def test_queries_with_nothing_to_search_are_errors(catalogue):
    for query in ["", "   ", "，。！", "***", '"" ()', '"""', "OR", "-", "\u3000"]:
        with pytest.raises(QueryError):
            catalogue.search(query)
    with pytest.raises(QueryError, match="only excludes"):
        catalogue.search("-化工")
    for bad in ({"order": "newest"}, {"limit": -1}, {"offset": -1}, {"rank_pool": 0}, {"count_cap": 0},
                {"since": "2021-02-30"}, {"until": "yesterday"}, {"source": "——"}):
        with pytest.raises(QueryError):
            catalogue.search("化工", **bad)


@pytest.mark.parametrize("query", [
    "'; DROP TABLE versions; --", '化工" OR "1"="1', "NEAR(化工 园区)", "title:化工", "{title}: 化工", "化工*",
    "^化工", "化工)", "化工 + 园区", "化工\x00", "a'b", "x\\y", "'化工' | '园区'", "化工:*", "!化工", "化工 & 园区",
])
def test_hostile_input_is_only_text(catalogue, truth, query):
    results = catalogue.search(query, limit=None)  # no error: it reaches SQL and the index only as quoted text
    assert catalogue.counts()["versions"] == ARTICLES
    words = [word for word in query.split() if any(ch.isalnum() for ch in word)]
    if len(words) == 1 and '"' not in query:
        assert {hit.version_id for hit in results} == scan(truth, words[0])  # literally, punctuation included
    if query == "化工 + 园区":
        assert {hit.version_id for hit in results} == found(catalogue, "化工 园区")


def test_filters(catalogue, truth):
    chem = scan(truth, "化工")
    dates = dict(truth.execute("SELECT id, published FROM versions"))
    in_2021 = {v for v in chem if "2021-01-01" <= dates[v][:10] <= "2021-12-31"}
    assert in_2021 and found(catalogue, "化工", since="2021-01-01", until="2021-12-31") == in_2021
    assert found(catalogue, "化工", since="2025-06-01") == {v for v in chem if dates[v][:10] >= "2025-06-01"}
    assert found(catalogue, "化工", source="滕州日报") == chem & scan_source(truth, "滕州日报")
    with_images = {row[0] for row in truth.execute("SELECT id FROM versions WHERE images != '[]'")}
    assert found(catalogue, "化工", has_images=True) == chem & with_images
    assert found(catalogue, "化工", has_images=False) == chem - with_images
    assert found(catalogue, "化工", column="工业经济") == chem
    assert found(catalogue, "化工", column="不存在的栏目") == set()
    assert found(catalogue, "化工", site="tengzhou") == found(catalogue, "化工", section="工业经济") == chem
    assert found(catalogue, "化工", site="zaozhuang") == found(catalogue, "化工", section="不存在") == set()
    seed = seed_version(truth)
    assert found(catalogue, "化工", flags=["any"]) == found(catalogue, "化工", flags=["hijacked_city_name"]) == {seed}
    assert found(catalogue, "化工", flags=["spam_keywords"]) == set()


def scan_source(truth, text: str) -> set[int]:
    return {row[0] for row in truth.execute("SELECT id FROM versions WHERE instr(source, ?)", (text,))}


def test_orders_and_pages(catalogue):
    by_date = catalogue.search("园区", order="date", limit=None)
    keys = [(hit.published or "")[:10] for hit in by_date]
    assert keys == sorted(keys, reverse=True)
    for query in ("园区", "工业强市", "化工 OR 园区 -招商"):
        for order in ("relevance", "date"):
            whole = [hit.version_id for hit in catalogue.search(query, order=order, limit=None)]
            pages = [hit.version_id for offset in range(0, len(whole), 25)
                     for hit in catalogue.search(query, order=order, limit=25, offset=offset)]
            assert pages == whole
    ranked = catalogue.search("招商引资", limit=5)
    assert all(a.score >= b.score for a, b in zip(ranked.hits, ranked.hits[1:]))
    assert "招商引资" in ranked.hits[0].title  # the title weighs most


@pytest.mark.parametrize("query, pool", [("园区", 10), ('"工业强市 产业兴市"', 10), ('"工业强市 产业兴市"', 2),
                                         ("工业强市", 5)])
def test_rank_pool_ranks_the_newest_then_goes_by_date(catalogue, query, pool):
    everything = catalogue.search(query, limit=None, rank_pool=None)
    pooled = catalogue.search(query, limit=None, rank_pool=pool)
    assert pooled.total == everything.total > pool and pooled.ranked == pool
    assert [h.version_id for h in pooled] == [h.version_id for offset in range(0, pooled.total, 3)
                                              for h in catalogue.search(query, limit=3, offset=offset, rank_pool=pool)]
    assert {h.version_id for h in pooled} == {h.version_id for h in everything}
    newest = {h.version_id for h in catalogue.search(query, order="date", limit=pool)}
    assert {h.version_id for h in pooled.hits[:pool]} == newest
    scores = [hit.score for hit in pooled.hits[:pool]]
    assert None not in scores and scores == sorted(scores, reverse=True)
    rest = [hit.published[:10] for hit in pooled.hits[pool:]]
    assert rest == sorted(rest, reverse=True)


def test_snippets_mark_matches(catalogue):
    hit = catalogue.search("攻坚五问").hits[0]
    assert "«攻坚五问»" in hit.snippet and "<mark>攻坚五问</mark>" in hit.snippet_html
    assert hit.status == "live" and hit.current and hit.url.endswith(".html") and hit.flags == ["hijacked_city_name"]
    parts = make_snippet(["前文<b>&化工后文"], parse_query("化工").terms)
    assert html(parts) == "前文&lt;b&gt;&amp;<mark>化工</mark>后文"
    assert marked(parts, ("[", "]")) == "前文<b>&[化工]后文"


# -- changes, through the fold ------------------------------------------------------------------

_DATE = "2026-06-01T00:00:00.000000Z"


def _capture(url: str, record: str, status: int, offset: int) -> Capture:
    return Capture(crawl_id=CRAWL_ID, record_id=f"<urn:uuid:{record}>", warc_type="response", url=url, date=_DATE,
                   status=status, content_type="text/html", location=None, payload_digest=f"sha1:{record}",
                   refers_to=None, truncated=None, etag=None, last_modified=None,
                   position=Position("EDITS.warc.gz", offset, 100))


def edit(catalogue, article_id: int, body: str) -> int:
    """A crawl finding a new text for an article; returns the new version's id."""
    return crawl_page(catalogue, catalogue.find_article(article_id)["url"], body,
                      like=catalogue.versions_of(article_id)[-1])


def crawl_page(catalogue, url: str, body: str, like: dict, site: str = "tengzhou", section: str = "工业经济") -> int:
    """A crawl finding `body` at `url` (an article of `site` and `section`, its other fields those of the
    version `like`); returns the new version's id."""
    record = f"page-{len(url)}-{url[-8:]}-{len(body)}"
    catalogue.apply(_capture(url, record, 200, len(url) * 10))
    fields = {key: like[key] for key in ("title", "published", "source", "images", "attachments", "column_name")}
    fields.update(type="article", url=url, body_text=body, content_hash=f"sha256:{record}", site=site,
                  section=section, flags=[], problems=[], extractor="test")
    catalogue.apply(Metadata(CRAWL_ID, f"<urn:uuid:meta-{record}>", url, _DATE, f"<urn:uuid:{record}>", fields))
    catalogue.commit()
    return catalogue.versions_of(catalogue.article_id_at(url))[-1]["id"]


def withdraw(catalogue, article_id: int) -> None:
    """A crawl finding an article gone (404)."""
    catalogue.apply(_capture(catalogue.find_article(article_id)["url"], f"gone-{article_id}", 404, article_id * 10 + 1))
    catalogue.commit()


def test_second_version_and_withdrawal(own):
    first = own.versions_of(1)[-1]
    gone_article = next(hit.article_id for hit in own.search("化工", limit=5) if hit.article_id != 1)
    gone = own.find_article(gone_article)["current_version"]
    new = edit(own, 1, "改写后的正文，提到新词独角兽园。")
    withdraw(own, gone_article)
    assert own.index_status().pending == 2  # the triggers noticed; the next search applies them
    assert found(own, "独角兽园") == {new}
    assert own.index_status().pending == 0
    old_words = first["title"]
    assert first["id"] not in found(own, old_words) and new in found(own, old_words)
    assert {first["id"], new} <= found(own, old_words, all_versions=True)
    hits = {hit.version_id: hit for hit in own.search(old_words, all_versions=True, limit=None)}
    assert not hits[first["id"]].current and hits[first["id"]].version == 1 and hits[new].current
    assert gone not in found(own, "化工")
    assert gone in found(own, "化工", include_withdrawn=True)
    hit = next(h for h in own.search("化工", include_withdrawn=True, limit=None) if h.version_id == gone)
    assert hit.status == "withdrawn"
    before = {q: found(own, q, all_versions=True, include_withdrawn=True) for q in ("化", "独角兽园", old_words)}
    own.rebuild_index()
    assert {q: found(own, q, all_versions=True, include_withdrawn=True) for q in before} == before


def test_site_and_section_filters_are_exact_and_take_several_names(own):
    moved = crawl_page(own, "http://www.weishan.gov.cn/art/2026/6/1/art_1_1.html", "另一个网站的正文：化工园区。",
                       like=own.versions_of(1)[-1], site="weishan", section="通知公告")
    others = found(own, "化工") - {moved}
    assert others and moved in found(own, "化工")
    assert found(own, "化工", site="weishan") == found(own, "化工", section="通知公告") == {moved}
    assert found(own, "化工", site=["weishan", "tengzhou"]) == found(own, "化工", section=("工业经济", "通知公告")) \
        == others | {moved}
    assert found(own, "化工", site="tengzhou") == found(own, "化工", section=["工业经济"]) == others
    # Exact: not folded, not a prefix or a part of the name; an empty list filters nothing.
    for site, section in (("Weishan", None), ("weisha", None), (None, "通知"), (None, "通知公告 "), ("weishan", "工业经济")):
        assert found(own, "化工", site=site, section=section) == set(), (site, section)
    assert found(own, "化工", site=[]) == found(own, "化工")
    hit = next(hit for hit in own.search("化工", limit=None) if hit.version_id == moved)
    assert (hit.site, hit.section) == ("weishan", "通知公告")
    assert {(hit.site, hit.section) for hit in own.search("化工", limit=None) if hit.version_id != moved} \
        == {("tengzhou", "工业经济")}


def test_read_only_catalogue_reports_unapplied_changes(own, tmp_path):
    url = getattr(own, "url", None) or "sqlite:///" + str(own.path).lstrip("/")
    withdraw(own, 1)
    reader = open_catalogue(tmp_path, url, readonly=True)
    results = reader.search("工", limit=None)
    assert results.stale and all(hit.article_id != 1 for hit in results)
    reader.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_missing_index_is_a_typed_error_and_update_builds_it(backend, tmp_path, request):
    if backend == "sqlite":
        catalogue = SqliteCatalogue.open(tmp_path / "catalog.sqlite")
    else:
        catalogue = open_catalogue(tmp_path, request.getfixturevalue("postgres_url"))
    fill_synthetic(catalogue, 20, bulk=True)
    assert not catalogue.index_status().ready
    with pytest.raises(IndexMissing):
        catalogue.search("化工")
    assert catalogue.update_index() == 20
    assert catalogue.index_status().ready and catalogue.search("工", limit=None).total == 20
    catalogue.close()


# -- the SQLite index's internals ----------------------------------------------------------------


@pytest.fixture
def lite(tmp_path):
    path = tmp_path / "catalog.sqlite"
    build_synthetic_catalogue(path, ARTICLES, bulk=True)
    conn = connect(path)
    rebuild_index(conn)
    yield conn
    conn.close()


def test_incremental_indexing_matches_a_rebuild(lite):
    def found_here(query):
        return {hit.version_id for hit in sqlite_search(lite, query, limit=None)}

    article = lite.execute("INSERT INTO articles (key, url, first_seen, last_seen, status) VALUES"
                           " ('example)/new.html', 'http://example/new.html', 'x', 'x', 'live')").lastrowid
    capture = lite.execute("SELECT capture_id, crawl_id FROM versions LIMIT 1").fetchone()
    version = lite.execute(
        "INSERT INTO versions (article_id, version, content_hash, title, published, source, body_text, images,"
        " attachments, flags, first_seen, last_seen, crawl_id, capture_id) VALUES"
        " (?, 1, 'h', '新文章标题', '2030-01-02', '市工信局', '一段含有罕见词麒麟湾的正文。ZQ_4471', '[]', '[]', '[]',"
        " 'x', 'x', ?, ?)", (article, capture[1], capture[0])).lastrowid
    lite.execute("UPDATE articles SET current_version = ? WHERE id = ?", (version, article))
    assert index_versions(lite, [version]) == 1
    lite.commit()
    assert found_here("麒麟湾") == {version} == found_here("zq_4471") == found_here("Ｑ_44")
    assert found_here("麒麟湾") == {hit.version_id for hit in sqlite_search(lite, "麒麟湾", since="2030-01-02",
                                                                            until="2030-01-02", limit=None)}
    # An edited text and a deleted version are unindexed with the text they were indexed with.
    edited = seed_version(lite)
    assert found_here("杨青霖") == {edited}  # a name in the seed article's text
    lite.execute("UPDATE versions SET body_text = '全新的正文：凤凰台 JPG-9920' WHERE id = ?", (edited,))
    lite.execute("UPDATE articles SET current_version = NULL WHERE id = ?", (article,))
    lite.execute("DELETE FROM versions WHERE id = ?", (version,))
    lite.execute("UPDATE articles SET site = 'zaozhuang' WHERE id = 2")
    lite.commit()
    assert pending(lite) == 3
    index_versions(lite)
    lite.commit()
    assert found_here("凤凰台") == {edited} and found_here("杨青霖") == set()
    assert found_here("麒麟湾") == set() == found_here("zq_4471")
    assert found_here("jpg-9920") == {edited}
    # The ASCII trigrams went with the text they were made from (an FTS5 row deleted with other tokens
    # would leave them behind).
    for token in ascii_trigrams("ZQ_4471"):
        assert lite.execute("SELECT count(*) FROM search_fts WHERE search_fts MATCH ?", (f'"{token}"',)).fetchone()[0] == 0
    assert {h.article_id for h in sqlite_search(lite, "工", site="zaozhuang", limit=None)} == {2}
    lite.execute("INSERT INTO search_fts (search_fts) VALUES ('integrity-check')")
    queries = ["化", "化工", "工业强市", '"工业强市 产业兴市"', "IMG_5158", "凤凰台", "2021", "jpg-9920", "g-992"]
    before = {q: found_here(q) for q in queries}
    rebuild_index(lite)
    assert {q: found_here(q) for q in queries} == before


def test_index_versions_builds_a_missing_index(tmp_path):
    path = tmp_path / "catalog.sqlite"
    build_synthetic_catalogue(path, 20)
    conn = connect(path)
    assert index_versions(conn) == 20
    conn.commit()
    assert len(sqlite_search(conn, "工", limit=None).hits) == 20
    assert isinstance(conn, sqlite3.Connection)


def test_hits_keep_the_pairs_order_and_skip_rows_that_are_gone():
    from archive.catalogue.hits import Filters, Wanted, make_hits

    def row(version_id: int, flags, status="live", current=1) -> dict:
        return {"id": version_id, "article_id": version_id * 10, "version": 1, "url": f"http://x/{version_id}",
                "title": "化工园区", "published": "2024-01-01", "source": None, "column_name": None,
                "flags": flags, "status": status, "current": current, "site": "s", "section": None,
                "body_text": "正文提到化工。", "images": "not json", "attachments": None}

    rows = {1: row(1, '["spam_keywords"]'), 2: row(2, "{broken"), 3: row(3, '{"a": 1}', "withdrawn", 0)}
    hits = make_hits(rows, [(3, 2.0), (9, 1.5), (1, 1.0), (2, None)], parse_query("化工"), True)
    assert [hit.version_id for hit in hits] == [3, 1, 2]  # 9: removed since it was indexed
    assert [hit.flags for hit in hits] == [[], ["spam_keywords"], []]  # flags that are not a JSON list: none
    assert [hit.score for hit in hits] == [2.0, 1.0, None] and hits[1].site == "s" and not hits[0].current
    assert "«化工»" in hits[1].snippet
    assert make_hits(rows, [(1, 1.0)], parse_query("化工"), False)[0].parts == ()
    # What a stale search checks of the versions the index may describe wrongly (`archive.catalogue.hits.Behind`).
    def held(query: str, **filters) -> list[int]:
        wanted = Wanted(parse_query(query), 0, 2**63 - 1, Filters(**filters))
        return [key for key, found in rows.items() if wanted.holds(found)]

    assert held("化工") == [1, 2]
    assert held("化工 -正文", all_versions=True, include_withdrawn=True) == []
    assert held("化工", all_versions=True, include_withdrawn=True) == [1, 2, 3]
    assert held("化工", flags=["any"], site=["s", "t"]) == [1]


def test_a_search_index_of_the_previous_layout_is_rebuilt_once_by_the_next_search(tmp_path):
    """An archive made before layout 6 (no ASCII trigrams): a read-only search says the index is missing, the
    first search that can write builds it again and says so, and ASCII words are found through the new layout."""
    from archive.search.ready import searchable

    build_synthetic_catalogue(tmp_path / "catalog.sqlite", 20)
    conn = connect(tmp_path / "catalog.sqlite")
    rebuild_index(conn)
    conn.execute("UPDATE search_meta SET value = '5' WHERE key = 'layout'")  # what the previous release wrote
    conn.commit()
    conn.close()
    with pytest.raises(IndexMissing):
        open_catalogue(tmp_path, readonly=True).search("jpg")
    notes: list[str] = []
    catalogue = searchable(tmp_path, note=notes.append)
    assert any("Building the search index" in note for note in notes)
    assert catalogue.search("jpg", limit=None).hits
    assert catalogue.search("2021", limit=None).total == catalogue.search("2021", limit=None, count_cap=None).total
    catalogue.close()
    notes.clear()
    searchable(tmp_path, note=notes.append).close()
    assert notes == []  # once


def test_an_index_of_layout_6_is_brought_to_layout_7_without_a_rebuild(tmp_path, monkeypatch):
    """Layout 7 marks the versions whose text holds the private-use characters the index stores punctuation as
    (|mclash); a layout-6 index lacks the mark.  A read-only search of it says it has unapplied changes; the
    first that can write queues those versions' articles and indexes them again, nothing else."""
    from archive.catalogue.api import IndexStatus
    from archive.catalogue.fts import index
    from archive.search.ready import searchable

    catalogue = SqliteCatalogue.open(tmp_path / "catalog.sqlite")
    fill_synthetic(catalogue, 30, bulk=True)
    edit(catalogue, 3, "私用\ue021字符")
    edit(catalogue, 4, "私用!字符")
    unmarked = index._meta
    monkeypatch.setattr(index, "_meta", lambda row: unmarked(row).replace(" |mclash", "").replace("|mclash", ""))
    catalogue.rebuild_index()
    catalogue.execute("UPDATE search_meta SET value = '6' WHERE key = 'layout'")  # what the previous release wrote
    catalogue.commit()
    catalogue.close()
    monkeypatch.setattr(index, "_meta", unmarked)
    before = sqlite3.connect(tmp_path / "catalog.sqlite").execute("SELECT docid, meta FROM search_docs").fetchall()
    reader = open_catalogue(tmp_path, readonly=True)
    assert reader.index_status() == IndexStatus(ready=True, pending=0, outdated=True)
    assert reader.search("私用!字符").stale
    reader.close()
    monkeypatch.setattr(index, "_fill", lambda *args, **kwargs: pytest.fail("rebuilt"))
    notes: list[str] = []
    catalogue = searchable(tmp_path, note=notes.append)
    assert notes == ["Bringing the search index to this version's layout (once; no rebuild)..."]
    answer = catalogue.search("私用!字符", limit=None)
    assert not answer.stale and [hit.article_id for hit in answer] == [4]
    assert [hit.article_id for hit in catalogue.search("私用\ue021字符", limit=None)] == [3]
    catalogue.close()
    after = sqlite3.connect(tmp_path / "catalog.sqlite").execute("SELECT docid, meta FROM search_docs").fetchall()
    changed = set(after) ^ set(before)
    assert len(changed) == 2 and all("|mclash" in meta for _, meta in set(after) - set(before))  # one version
    notes.clear()
    searchable(tmp_path, note=notes.append).close()
    assert notes == []  # once


@pytest.mark.parametrize("text", ["甲乙 -丙 OR 丙", "-丙 OR 甲乙", "甲乙 OR -丙", "甲乙 NOT 丙 OR 丁"])
def test_or_next_to_an_excluded_word_is_refused_on_either_side(text):
    with pytest.raises(QueryError, match="OR cannot join an excluded word"):
        parse_query(text)


def test_a_repeated_word_counts_once_and_a_query_has_at_most_32_words():
    from archive.search.query import MAX_TERMS

    assert parse_query(" ".join(["文章"] * 300)).groups == parse_query("文章").groups
    assert parse_query(" OR ".join(["文章"] * 100)).groups == parse_query("文章").groups
    assert parse_query("化工 -招商 园区 -招商 化工").excluded == parse_query("化工 -招商").excluded
    parse_query(" ".join(f"词{i}" for i in range(MAX_TERMS)))
    with pytest.raises(QueryError, match="at most 32"):
        parse_query(" ".join(f"词{i}" for i in range(MAX_TERMS + 1)))

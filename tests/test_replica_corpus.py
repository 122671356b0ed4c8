"""The replica's article index, generated text, seed article, editions and truth (no HTTP)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest
from click.testing import CliRunner

from archive.cli import main
from crawler.items import TRUTH_FIELDS
from replica.article import make_article
from replica.corpus import SEED_DOCID, Corpus
from replica.errors import ReplicaConfigError
from replica.seed import seed_text
from replica.truth import removed_records, truth_records

SEED_TITLE = "【工业强市 产业兴市】(二)官桥镇召开工业强市、产业兴市“攻坚五问”大调研大讨论活动动员大会"
SEED_ALTS = ["IMG_5158_副本.jpg", "IMG_5195_副本.jpg", "IMG_5222_副本.jpg", "IMG_5176_副本.jpg", "IMG_5143_副本.jpg"]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus(300)


@pytest.fixture(scope="module")
def articles(corpus):
    return [make_article(e, corpus.seed) for e in corpus.entries]


def test_same_seed_same_site_other_seed_other_site(corpus):
    again = list(truth_records(Corpus(300)))
    assert list(truth_records(corpus)) == again
    other = list(truth_records(Corpus(300, seed=2)))
    assert [r["url"] for r in other] != [r["url"] for r in again]


def test_index_of_50000_articles_builds(corpus):
    big = Corpus(50_000)
    docids = [e.docid for e in big.entries]
    assert len(docids) == len(set(docids)) == 50_000
    assert docids == sorted(docids, reverse=True)  # newest first
    assert all(1_000_000 <= d <= 9_999_999 for d in docids)
    days = [e.day for e in big.entries]
    assert days == sorted(days, reverse=True)
    assert min(days).year == 2015 and max(days).year == 2026
    assert big.entry(SEED_DOCID).day == date(2021, 3, 15)


def test_entries_mix_templates_charsets_and_transfer(corpus):
    old = [e for e in corpus.entries if e.template == "old"]
    assert old and all(e.day < date(2017, 1, 1) for e in old)
    assert all(e.day >= date(2017, 1, 1) for e in corpus.entries if e.template == "current")
    assert 0 < sum(e.charset == "gbk" for e in corpus.entries) < 150
    assert 0 < sum(e.chunked for e in corpus.entries) < 150


def test_sizes_out_of_range_raise_typed_errors():
    with pytest.raises(ReplicaConfigError):
        Corpus(0)
    with pytest.raises(ReplicaConfigError):
        Corpus(10, edition=0)


def test_seed_article_is_verbatim(corpus):
    seed = make_article(corpus.seed_entry, corpus.seed)
    assert seed.title == SEED_TITLE
    assert seed.published == "2021-03-15"
    assert seed.source == "官桥镇信息中心"
    assert [p.alt for p in seed.photos] == SEED_ALTS
    assert all(p.caption is None for p in seed.photos)
    raw = seed_text()
    assert seed.paragraphs == [v for k, v in raw.blocks if k == "text"]
    assert seed.paragraphs[0].startswith("为深入贯彻落实全国“两会”")
    assert seed.paragraphs[-1].startswith("党委委员、纪委书记李居鹏传达")
    # photos sit where the seed text shows them: two after the first paragraph, one last
    kinds = ["photo" if not isinstance(b, str) else "text" for b in seed.blocks]
    assert kinds[:3] == ["text", "photo", "photo"] and kinds[-1] == "photo"
    assert seed.hijacked and "江城足球网" in seed.body_text


def test_seed_article_is_listed_at_its_date(corpus):
    entries = corpus.entries
    at = [e.docid for e in entries].index(SEED_DOCID)
    assert all(e.day > date(2021, 3, 15) for e in entries[:at])
    assert all(e.day < date(2021, 3, 15) for e in entries[at + 1 :])


def test_generated_text_is_plausible_and_gbk_safe(articles):
    generated = [a for a in articles if not a.entry.is_seed]
    for a in generated:
        for text in [a.title, a.source, a.body_text, *(x.name for x in a.attachments), *(p.alt for p in a.photos)]:
            text.encode("gbk")  # raises if a GBK page could not carry it
    for word in ("化工", "园区", "招商", "企业"):
        assert sum(word in a.body_text for a in generated) > len(generated) // 2, word
    lengths = [len(a.body_text) for a in generated]
    assert min(lengths) < 800 and 3000 < max(lengths) < 4300
    photo_counts = Counter(len(a.photos) for a in generated)
    assert set(photo_counts) == set(range(7))
    assert any(" " in a.source for a in generated)
    assert any(a.attachments for a in generated)
    assert any(p.caption and "拍摄" in p.caption or p.caption and "摄)" in p.caption for a in generated for p in a.photos)
    years = {a.entry.day.year for a in generated}
    assert years == set(range(2015, 2027))


def test_editions_add_edit_and_remove():
    one, two = Corpus(1000, 1), Corpus(1000, 2)
    before = {r["url"]: r for r in truth_records(one)}
    after = list(truth_records(two))
    changes = Counter(r["change"] for r in after)
    assert changes["new"] == 20 and changes["edited"] == 10
    removed = list(removed_records(two))
    assert len(removed) == 5 and {r["how"] for r in removed} == {"404", "redirect"}
    assert all(r["url"] in before and r["url"] not in {a["url"] for a in after} for r in removed)
    for record in after:
        old = before.get(record["url"])
        if record["change"] == "new":
            assert old is None and record["published"] > "2026-03-31"
        elif record["change"] == "edited":
            assert (old["title"], old["body_text"]) != (record["title"], record["body_text"])
        else:
            assert {k: v for k, v in record.items() if k != "change"} == {k: v for k, v in old.items() if k != "change"}
    assert len(after) == 1000 + 20 - 5


def test_small_sites_still_change_in_every_edition():
    three = Corpus(100, 3)
    assert Counter(three.change(e) for e in three.entries)["new"] >= 1
    assert len(three.removed_last) == 1 and len(three.gone) == 2


def test_edition_leaves_seed_alone():
    late = Corpus(200, 12)
    assert late.seed_entry.edits == () and SEED_DOCID not in late.gone


def test_truth_cli_prints_every_field():
    result = CliRunner().invoke(main, ["replica", "truth", "--articles", "40", "--edition", "2"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert len(records) == 40 + 1 - 1
    for record in records:
        assert set(TRUTH_FIELDS) | {"site", "section", "change"} == set(record)
        assert (record["site"], record["section"]) == ("tengzhou", "工业经济")
    assert "工业" in result.output  # unescaped Chinese
    removed = CliRunner().invoke(main, ["replica", "truth", "--articles", "40", "--edition", "2", "--removed",
                                        "--base-url", "http://127.0.0.1:9/"])
    lines = [json.loads(line) for line in removed.output.splitlines()]
    assert len(lines) == 1 and lines[0]["how"] in ("404", "redirect")
    assert lines[0]["url"].startswith("http://127.0.0.1:9/xwzx/gyjj/")


def test_truth_cli_rejects_bad_flags():
    result = CliRunner().invoke(main, ["replica", "truth", "--articles", "-3"])
    assert result.exit_code == 2 and "--articles" in result.output

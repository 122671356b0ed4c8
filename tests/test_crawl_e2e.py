"""A whole crawl of the replica over real HTTP, compared with its ground truth."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from crawler.items import TRUTH_FIELDS

pytestmark = pytest.mark.e2e

SEED_URL_DATE = "t20210315_"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def _comparable(record: dict) -> dict:
    out = {}
    for name in TRUTH_FIELDS:
        value = record.get(name)
        if name == "url":
            value = _path(value)
        elif name in ("images", "attachments"):
            value = [
                {k: (_path(v) if k == "url" else v) for k, v in entry.items() if k in ("url", "alt", "caption", "name")}
                for entry in value or []
            ]
        elif name == "charset":
            value = (value or {}).get("declared")
        out[name] = value
    return out


def test_crawl_exits_zero(crawled):
    result = crawled["result"]
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_article_archived_once(crawled):
    urls = [_path(item["url"]) for item in crawled["items"]]
    assert len(urls) == len(set(urls))
    assert sorted(urls) == sorted(_path(t["url"]) for t in crawled["truth"])


def test_zero_field_mismatches_against_ground_truth(crawled):
    items = {_path(item["url"]): _comparable(item) for item in crawled["items"]}
    mismatches = []
    for truth in crawled["truth"]:
        expected = _comparable(truth)
        got = items.get(expected["url"])
        if got is None:
            mismatches.append((expected["url"], "missing"))
            continue
        for name in TRUTH_FIELDS:
            if got[name] != expected[name]:
                mismatches.append((expected["url"], name, got[name], expected[name]))
    assert mismatches == []


def test_corpus_covers_gbk_and_older_template(crawled):
    charsets = {item["charset"]["declared"] for item in crawled["items"]}
    assert "gbk" in charsets
    assert any(item["site_name"] is None for item in crawled["items"]), "no older-template page crawled"
    assert any(item["charset"]["used"] in ("gbk", "gb18030") for item in crawled["items"])


def test_seed_article_exact(crawled):
    seeds = [item for item in crawled["items"] if SEED_URL_DATE in item["url"] and "攻坚五问" in (item["title"] or "")]
    assert len(seeds) == 1
    seed = seeds[0]
    assert seed["title"] == "【工业强市 产业兴市】(二)官桥镇召开工业强市、产业兴市“攻坚五问”大调研大讨论活动动员大会"
    assert seed["published"] == "2021-03-15"
    assert seed["source"] == "官桥镇信息中心"
    assert [image["alt"] for image in seed["images"]] == [
        "IMG_5158_副本.jpg", "IMG_5195_副本.jpg", "IMG_5222_副本.jpg", "IMG_5176_副本.jpg", "IMG_5143_副本.jpg",
    ]
    assert seed["body_text"].startswith("为深入贯彻落实全国“两会”")
    assert seed["body_text"].endswith("党委委员、纪委书记李居鹏传达《官桥镇工业强市、产业兴市“攻坚五问”大调研大讨论活动方案》")
    assert "江城足球网内唯一一个拥有2个省级经济园区的乡镇" in seed["body_text"]


def test_items_carry_provenance(crawled):
    for item in crawled["items"]:
        assert item["crawl_id"]
        assert item["http_status"] == 200
        assert item["content_hash"].startswith("sha256:")
        assert item["warc"]["record_id"].startswith("<urn:uuid:")
        assert item["warc"]["payload_digest"].startswith("sha1:")
        for media in item["images"] + item["attachments"]:
            assert media["status"] == 200, media
            assert media["warc"]["record_id"].startswith("<urn:uuid:")
            assert media["digest"].startswith("sha256:")
            assert media["size"] > 0


def test_media_files_named_by_digest(crawled):
    media = crawled["data"] / "media"
    files = [p for p in media.rglob("*") if p.is_file()]
    assert files
    for item in crawled["items"]:
        for entry in item["images"]:
            stored = media / entry["file"]
            assert stored.is_file()
            assert entry["digest"].split(":")[1] in stored.name


def test_jsonl_keeps_chinese_unescaped(crawled):
    raw = next((crawled["data"] / "items").glob("*.jsonl")).read_text(encoding="utf-8")
    assert "\\u" not in raw
    assert "工业" in raw

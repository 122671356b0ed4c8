"""The bulk path for large synthetic catalogues writes exactly the rows the fold writes, on both backends."""

from __future__ import annotations

import pytest

from archive.catalogue import open_catalogue
from archive.catalogue.bulk import add_new_articles
from archive.catalogue.sqlite import SqliteCatalogue
from archive.exits import UsageProblem
from replica.synthetic_catalogue import _events, fill_synthetic

ARTICLES = 120


def _dump(catalogue) -> dict[str, list[tuple]]:
    return {table: catalogue.dump_table(table) for table in catalogue.TABLES}


def _folded_and_bulk(open_fresh) -> tuple[dict, dict]:
    folded, bulk = open_fresh("folded"), open_fresh("bulk")
    fill_synthetic(folded, ARTICLES)
    fill_synthetic(bulk, ARTICLES, bulk=True)
    try:
        return _dump(folded), _dump(bulk)
    finally:
        folded.close()
        bulk.close()


def test_bulk_rows_equal_the_fold_on_sqlite(tmp_path):
    folded, bulk = _folded_and_bulk(lambda name: SqliteCatalogue.open(tmp_path / f"{name}.sqlite"))
    assert folded["versions"] and len(folded["articles"]) == ARTICLES
    assert bulk == folded


def test_bulk_rows_equal_the_fold_on_postgresql(postgres_url, tmp_path):
    opened = lambda name: open_catalogue(tmp_path, f"{postgres_url}?schema=bulk_{name}")  # noqa: E731
    folded, bulk = _folded_and_bulk(opened)
    assert bulk == folded
    again = opened("bulk")  # the fold goes on after a bulk load: ids follow the loaded ones
    capture, meta = _events({**_record(), "url": "http://www.tengzhou.gov.cn/new.html"}, ARTICLES + 1)
    again.apply(capture)
    again.apply(meta)
    assert again.scalar("SELECT max(id) AS n FROM versions") == ARTICLES + 1
    again.close()


def _record() -> dict:
    return {"url": "", "title": "新文章", "published": "2030-01-01", "source": "市工信局", "body_text": "正文",
            "images": [], "attachments": [], "breadcrumb": [], "site_name": None, "site_id_code": None,
            "column_name": "工业经济", "charset": {}, "site": "tengzhou", "section": "工业经济"}


def test_bulk_refuses_what_only_the_fold_can_do(tmp_path):
    catalogue = SqliteCatalogue.open(tmp_path / "c.sqlite")
    fill_synthetic(catalogue, 3, bulk=True)
    capture, meta = _events({**_record(), "url": "http://www.tengzhou.gov.cn/x.html"}, 10)
    with pytest.raises(UsageProblem):  # an article already in the catalogue
        add_new_articles(catalogue, [(capture, meta), (capture, meta)])
    other, _ = _events({**_record(), "url": "http://www.tengzhou.gov.cn/y.html"}, 11)
    with pytest.raises(UsageProblem):  # metadata of another record
        add_new_articles(catalogue, [(other, meta)])
    assert catalogue.counts()["articles"] == 3
    catalogue.close()

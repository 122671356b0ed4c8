"""The replica's sites, one per CMS family, and how to build each one.

    spec = site_spec("weishan")          # ReplicaConfigError for an unknown name (the message lists the names)
    corpus = make_corpus(spec, articles=300, edition=1, seed=1)
    site = make_site(spec, corpus, plan)  # answers paths like replica.site.Site
    for record in truth(spec, corpus, base_url, plan): ...

`tengzhou` is the original TRS site (replica.corpus, replica.site,
replica.hostile_site, replica.truth), unchanged; the others live in
replica.families.  docs/replica.md describes every site's URLs, templates,
traps and ground truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from replica.corpus import Corpus
from replica.errors import ReplicaConfigError
from replica.families import site_class
from replica.families.corpus import FamilyCorpus
from replica.families.truth import family_removed, family_truth
from replica.faults import FaultPlan
from replica.hostile_site import HostileSite
from replica.site import Site
from replica.spec import Column, SiteSpec
from replica.truth import removed_records, truth_records

DEFAULT_SITE = "tengzhou"


SITES: dict[str, SiteSpec] = {
    spec.name: spec
    for spec in (
        SiteSpec(
            name="tengzhou", cms="trs", site_name="滕州市人民政府", city="滕州市", id_code="3704810032",
            domain="www.tengzhou.gov.cn", charset="utf-8",
            columns=(Column("工业经济", "gyjj", "/xwzx/gyjj/index.html", "新闻中心"),),
        ),
        SiteSpec(
            name="weishan", cms="hanweb", site_name="微山县人民政府", city="微山县", id_code="3708260003",
            domain="www.weishan.gov.cn", charset="utf-8", docid_base=4_100_000, web_id="36",
            columns=(
                Column("政务要闻", "25831", "/col/col25831/index.html", "新闻中心", weight=3, unit="93713"),
                Column("部门动态", "25834", "/col/col25834/index.html", "新闻中心", weight=2, unit="93716"),
            ),
        ),
        SiteSpec(
            name="yutai", cms="xxgk", site_name="鱼台县人民政府", city="鱼台县", id_code="3708270012",
            domain="www.yutai.gov.cn", charset="gbk", docid_base=180_000,
            columns=(Column("政策文件", "zcwj", "/xxgk/zcwj/index.html", "政府信息公开"),),
        ),
        SiteSpec(
            name="sishui", cms="json", site_name="泗水县人民政府", city="泗水县", id_code="3708310006",
            domain="www.sishui.gov.cn", charset="utf-8", docid_base=2_300_000,
            columns=(
                Column("乡镇动态", "xzdt", "/news/xzdt/index.html", "新闻中心", weight=2),
                Column("通知公告", "tzgg", "/news/tzgg/index.html", "新闻中心", weight=1),
            ),
        ),
    )
}


def site_names() -> list[str]:
    return list(SITES)


def site_spec(name: str) -> SiteSpec:
    """The site called `name`; ReplicaConfigError (naming the known sites) if there is none."""
    try:
        return SITES[name]
    except KeyError:
        raise ReplicaConfigError(f"unknown site {name!r}; known sites: {', '.join(SITES)}") from None


def make_corpus(spec: SiteSpec, articles: int = 300, edition: int = 1, seed: int = 1) -> Corpus | FamilyCorpus:
    """The article index of `spec` in edition `edition` (replica.corpus.Corpus for TRS)."""
    if spec.cms == "trs":
        return Corpus(articles, edition, seed)
    return FamilyCorpus(spec, articles, edition, seed)


def make_site(spec: SiteSpec, corpus, plan: FaultPlan | None = None):
    """The object that answers requests for `corpus`; hostile when `plan` is active."""
    if spec.cms == "trs":
        return HostileSite(corpus, plan) if plan is not None and plan.active else Site(corpus)
    return site_class(spec)(corpus, plan)


def truth(spec: SiteSpec, corpus, base_url: str = "", plan: FaultPlan | None = None) -> Iterator[dict[str, Any]]:
    """Ground truth of every present article, in list order (column by column, newest first)."""
    if spec.cms == "trs":
        return truth_records(corpus, base_url, plan)
    return family_truth(corpus, base_url, plan)


def removed(spec: SiteSpec, corpus, base_url: str = "") -> Iterator[dict[str, Any]]:
    """The articles this edition removed, as they were before, each with `how`."""
    if spec.cms == "trs":
        return removed_records(corpus, base_url)
    return family_removed(corpus, base_url)

"""The hostile replica's fault plan and ground truth: rates, determinism, what truth marks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from replica.corpus import Corpus
from replica.errors import ReplicaConfigError
from replica.faults import KINDS, PAGE_KINDS, SEED_PATH, FaultPlan, format_faults, parse_faults
from replica.hostile_html import OFFSITE_TEXT
from replica.hostile_site import HostileSite
from replica.server import ReplicaServer
from replica.site import Site
from replica.truth import truth_records

PATHS = [f"/xwzx/gyjj/202101/t20210101_{n:07d}.html" for n in range(4000000, 4004000)]


@pytest.fixture(scope="module")
def corpus():
    return Corpus(300)


def test_parse_faults_accepts_lists_all_and_overrides():
    assert parse_faults(["5xx=0.05", "reset=0.02,drop=0.1"]) == {"5xx": 0.05, "reset": 0.02, "drop": 0.1}
    everything = parse_faults(["all=0.1", "trap=0"])
    assert set(everything) == set(KINDS) and everything["trap"] == 0 and everything["slow"] == 0.1
    assert FaultPlan({"all": 0.2, "5xx": 0}).rates == {k: (0.0 if k == "5xx" else 0.2) for k in KINDS}
    assert format_faults({"reset": 0.02, "5xx": 0.05, "trap": 0}) == "5xx=0.05 reset=0.02"
    for bad in (["nope=0.1"], ["5xx"], ["5xx=lots"], ["5xx=1.5"], ["reset=-0.1"]):
        with pytest.raises(ReplicaConfigError):
            parse_faults(bad)
    with pytest.raises(ReplicaConfigError):
        FaultPlan({"5xx": 0.1}, slow_seconds=600)
    with pytest.raises(ReplicaConfigError):
        FaultPlan({"oversize": 0.1}, oversize_bytes=10)


@pytest.mark.parametrize("kind", ["5xx", "charset", "malformed", "redirect-loop", "oversize", "dupes", "offsite"])
def test_each_kind_hits_about_its_rate_and_is_deterministic(kind):
    plan = FaultPlan({kind: 0.2}, seed=7)
    hits = [p for p in PATHS if plan.hits(kind, p)]
    assert 0.17 * len(PATHS) < len(hits) < 0.23 * len(PATHS)
    assert hits == [p for p in PATHS if FaultPlan({kind: 0.2}, seed=7).hits(kind, p)]  # same flags, same paths
    assert hits != [p for p in PATHS if FaultPlan({kind: 0.2}, seed=8).hits(kind, p)]  # the seed matters
    more = {p for p in PATHS if FaultPlan({kind: 0.4}, seed=7).hits(kind, p)}
    assert set(hits) < more  # a higher rate only adds paths
    assert not any(FaultPlan({kind: 0.0}).hits(kind, p) for p in PATHS)
    assert all(FaultPlan({kind: 1.0}).hits(kind, p) for p in PATHS)


def test_request_faults_are_exclusive_transient_or_persistent():
    plan = FaultPlan({"5xx": 0.2, "429": 0.2, "reset": 0.2, "drop": 0.2, "slow": 0.2}, seed=3)
    seen = {"persistent": 0, 1: 0, 2: 0}
    for path in PATHS:
        fault = plan.request_fault(path, article=True)
        if fault is None:
            continue
        assert plan.hits(fault.kind, path)
        earlier = ("5xx", "429", "reset", "drop", "slow")[: ("5xx", "429", "reset", "drop", "slow").index(fault.kind)]
        assert not any(plan.hits(k, path) for k in earlier)  # precedence: the first kind that hits
        seen["persistent" if fault.persistent else fault.failures] += 1
        if fault.persistent:
            assert fault.kind != "429" and all(fault.fails(n) for n in range(1, 10))
        else:
            assert [fault.fails(n) for n in (1, 2, 3, 4)] == [True, fault.failures == 2, False, False]
        listing = plan.request_fault(path, article=False)  # the same path as a list page or photo
        assert listing.kind == fault.kind and not listing.persistent
    total = sum(seen.values())
    assert 0.18 < seen["persistent"] / total < 0.32 and seen[1] and seen[2]
    assert {plan.status_5xx(p, n) for p in PATHS[:50] for n in (1, 2)} == {500, 502, 503}
    assert {plan.loop_style(p) for p in PATHS[:50]} == {"pingpong", "growing"}


def test_rate_zero_is_the_normal_site(corpus):
    for faults in (None, {}, {k: 0.0 for k in KINDS}):
        with ReplicaServer(articles=20, faults=faults) as server:
            assert type(server.site) is Site and not server.plan.active
    assert list(truth_records(corpus, plan=FaultPlan({}))) == list(truth_records(corpus))
    assert "fault" not in next(truth_records(corpus))


def test_seed_article_is_never_faulted(corpus):
    plan = FaultPlan({"all": 1.0})
    assert not any(plan.hits(kind, SEED_PATH) for kind in KINDS)
    record = next(r for r in truth_records(corpus, plan=plan) if r["url"] == SEED_PATH)
    assert record["fault"] is None and record["faults"] == []


def test_truth_marks_every_article_consistently(corpus):
    plan = FaultPlan({"5xx": 0.1, "reset": 0.1, "drop": 0.05, "slow": 0.05, "429": 0.1, "charset": 0.2,
                      "malformed": 0.2, "redirect-loop": 0.05, "oversize": 0.05, "dupes": 0.2, "offsite": 0.1}, seed=2)
    plain = {r["url"]: r for r in truth_records(corpus)}
    faults = list(truth_records(corpus, plan=plan))
    assert [r["url"] for r in faults] == list(plain)
    for record in faults:
        path, before = record["url"], plain[record["url"]]
        request = plan.request_fault(path, article=True)
        kinds = ([request.kind] if request else []) + [k for k in PAGE_KINDS if plan.hits(k, path)]
        assert record["faults"] == kinds
        if request and request.persistent:
            assert record["fault"] == request.kind
        elif plan.hits("redirect-loop", path):
            assert record["fault"] == "redirect-loop"
        elif plan.hits("oversize", path):
            assert record["fault"] == "oversize"
        else:
            assert record["fault"] is None
        used = before["charset"]["used"]
        if "charset" in kinds:
            assert record["charset"] == {"declared": "gbk" if used == "utf-8" else "utf-8", "used": used}
        else:
            assert record["charset"] == before["charset"]
        if "offsite" in kinds:
            assert record["body_text"] == before["body_text"] + "\n\n" + OFFSITE_TEXT
        else:
            assert record["body_text"] == before["body_text"]
        rest = {k: v for k, v in record.items() if k not in ("fault", "faults", "charset", "body_text")}
        assert rest == {k: v for k, v in before.items() if k not in ("charset", "body_text")}
    broken = {r["fault"] for r in faults} - {None}
    assert broken == {"5xx", "reset", "drop", "slow", "redirect-loop", "oversize"}
    assert sum(r["fault"] is None for r in faults) > len(faults) / 2


def test_truth_cli_matches_the_python_api():
    args = ["--articles", "80", "--fault", "5xx=0.2,redirect-loop=0.1", "--fault", "offsite=0.3", "--fault-seed", "4"]
    out = subprocess.run([sys.executable, "-m", "archive", "replica", "truth", *args],
                         capture_output=True, text=True, encoding="utf-8", check=True).stdout
    records = [json.loads(line) for line in out.splitlines()]
    plan = FaultPlan({"5xx": 0.2, "redirect-loop": 0.1, "offsite": 0.3}, seed=4)
    assert records == list(truth_records(Corpus(80), plan=plan))
    assert any(r["fault"] == "redirect-loop" for r in records) and any(r["fault"] is None for r in records)
    bad = subprocess.run([sys.executable, "-m", "archive", "replica", "truth", "--fault", "lag=0.1"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown fault" in bad.stderr


def test_hostile_site_pages_follow_the_plan_without_http(corpus):
    plan = FaultPlan({"charset": 0.3, "oversize": 0.1, "redirect-loop": 0.1}, seed=5, oversize_bytes=50_000)
    site, plain = HostileSite(corpus, plan), Site(corpus)
    for entry in corpus.entries[:120]:
        res, normal = site.resolve(entry.path), plain.resolve(entry.path)
        if plan.hits("redirect-loop", entry.path):
            assert res.status == 302
        elif plan.hits("oversize", entry.path):
            assert len(res.body) > 50_000
        elif plan.hits("charset", entry.path):
            assert res.content_type != normal.content_type and res.body != normal.body
        else:
            assert res.body == normal.body and res.etag == normal.etag

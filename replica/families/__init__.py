"""The replica's CMS families besides TRS: Hanweb JCMS, xxgk (政府信息公开) and script-and-JSON.

Each family is a FamilySite subclass (replica.families.base) with its own
templates and URL map (replica.families.urls); articles come from
replica.families.doc and truth from replica.families.truth.
"""

from __future__ import annotations

from replica.families.base import FamilySite
from replica.families.hanweb import HanwebSite
from replica.families.jsonapi import JsonSite
from replica.families.xxgk import XxgkSite
from replica.spec import SiteSpec

FAMILIES: dict[str, type[FamilySite]] = {"hanweb": HanwebSite, "xxgk": XxgkSite, "json": JsonSite}


def site_class(spec: SiteSpec) -> type[FamilySite]:
    return FAMILIES[spec.cms]

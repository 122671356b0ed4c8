"""What a replica site is: its CMS family, names, codes, charset and columns.

The sites themselves are listed in replica.registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Column:
    """One section of a site.  `key` is the CMS's own id (a column number, a folder, a channel)."""

    name: str
    key: str
    start_path: str
    parent: str  # the breadcrumb entry between 首页 and the column
    weight: int = 1  # share of the site's articles
    unit: str = ""  # Hanweb: the list module's unitid


@dataclass(frozen=True)
class SiteSpec:
    """What a site is: its family, names, codes, columns and charset.

    `city` is the site's own place name (what the integrity flag
    `hijacked_city_name` compares against); `id_code` the 政府网站标识码.
    """

    name: str
    cms: str  # "trs", "hanweb", "xxgk" or "json"
    site_name: str
    city: str
    id_code: str
    domain: str
    charset: str  # charset of the site's HTML pages ("utf-8" or "gbk"); TRS mixes both
    columns: tuple[Column, ...]
    docid_base: int = 0
    web_id: str = ""  # Hanweb: webid

    @property
    def start_path(self) -> str:
        return self.columns[0].start_path

    def column(self, key: str) -> Column | None:
        return next((c for c in self.columns if c.key == key), None)

    def describe(self) -> dict[str, Any]:
        """The entry `replica sites --json` prints."""
        return {
            "name": self.name,
            "cms": self.cms,
            "start_path": self.start_path,
            "site_name": self.site_name,
            "city": self.city,
            "site_id_code": self.id_code,
            "domain": self.domain,
            "charset": self.charset,
            "columns": [{"name": c.name, "key": c.key, "start_path": c.start_path} for c in self.columns],
        }

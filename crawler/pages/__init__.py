"""Page objects: pure extraction from a response, no crawl state.

- `ArticlePage` (crawler.pages.article): every field of an article page.
- `ListPage`, `ListEntry` (crawler.pages.listing): a section list page's rows and pager.
- crawler.pages.text: date and meta-line rules; crawler.pages.body: the main block.
"""

from crawler.pages.article import EXTRACTOR_VERSION, MISSING_CODES, NOTICE_CODES, ArticlePage
from crawler.pages.listing import ListEntry, ListPage

__all__ = ["EXTRACTOR_VERSION", "MISSING_CODES", "NOTICE_CODES", "ArticlePage", "ListEntry", "ListPage"]

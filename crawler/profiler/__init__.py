"""Looking at a portal before crawling it: `portal-archive profile new` and `profile check`.

- fetch.py: a polite HTTP client (robots.txt, a delay, the crawler's user agent, retries); archives nothing.
- detect.py: where a script-rendered list's JSON API is, and where its rows are.
- patterns.py: article URL patterns, folders and CSS selectors learnt from examples.
- infer.py: a `SiteProfile` inferred from each column's first list page.
- validate.py: the validation report (list walk, field coverage, pages without title or date).
- write.py: the profile as a commented TOML file.
"""

"""The browser UI: Datasette over the catalogue, with our Chinese search, article and media pages.

`portal-archive serve` runs it (see `archive.cli.serve`); `archive.web.app`
holds the Datasette configuration, `archive.web.plugin` the routes.
"""

"""Loaded by Datasette from this folder (--plugins-dir): the hooks of archive.web.plugin."""

from archive.web.plugin import asgi_wrapper, menu_links, register_routes, render_cell  # noqa: F401

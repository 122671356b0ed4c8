"""Only for `scrapyd-deploy`, which builds an egg with `setup.py bdist_egg`.

Everything is declared in pyproject.toml.
"""

from setuptools import setup

setup()

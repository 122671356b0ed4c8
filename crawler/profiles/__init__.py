"""Bundled site profiles (TOML).  Load them with `crawler.profile.load_profile`."""

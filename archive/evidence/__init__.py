"""Evidence-grade packages: signed, timestamped WACZ files anyone can check offline.

- `keys`: the archive's signing key (DATA/keys/, 0600) and its fingerprint
- `tsa`: RFC 3161 timestamps, asked for and checked
- `seal`: signing and timestamping a WACZ's datapackage-digest.json
- `signature`: checking a WACZ signedData (anonymous or domain variant)
- `package`: verifying a whole package (files, index, records, signature, timestamp)
- `captured`: one article as a package holds it (text, images, their records)
- `proof`: a small package for one article version
- `attest`: each crawl's WARC digests, timestamped at its end
- `source`: what all this reads from the catalogue (one adapter)

docs/evidence.md says what a signature and a timestamp prove, and how to
check a package without this software.
"""

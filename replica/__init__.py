"""Local stand-ins for county portals, for the demo, the tests and the benchmarks.

`replica.registry` lists the sites, one per CMS family (the Tengzhou TRS
section, the default, plus Hanweb, xxgk and script-and-JSON sites in
`replica.families`) and builds their corpus, site and truth;
`replica.server.ReplicaServer(site=...)` serves one over HTTP on loopback;
`replica.corpus.Corpus` is the TRS article index of one edition;
`replica.truth.truth_records` is the TRS ground truth a parser must match;
`replica.faults.FaultPlan` and `replica.hostile_site.HostileSite` are the
hostile mode (faults switched on by rate: `ReplicaServer(faults=...)`).
docs/replica.md is the contract with the crawler.
"""

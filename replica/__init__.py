"""A local stand-in for the Tengzhou portal section, for the demo, the tests and the benchmarks.

`replica.server.ReplicaServer` serves it over HTTP on loopback;
`replica.corpus.Corpus` is the article index of one edition;
`replica.truth.truth_records` is the ground truth a parser must match;
`replica.faults.FaultPlan` and `replica.hostile_site.HostileSite` are the
hostile mode (faults switched on by rate: `ReplicaServer(faults=...)`).
docs/replica.md is the contract with the crawler.
"""

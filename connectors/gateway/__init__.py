"""The ccxt venue gateway: real exchanges behind the same slices and reports as the simulated
venue (docs/GATEWAY.md).

The decisions are pure and live here, one module each: `config` (venues and credentials),
`markets` (instrument rules), `precommit` and `journal` (the three-phase commit and recovery),
`errors` and `retry` (what to do after a failure), `breaker` and `ratelimit` (how hard to call
a venue), `tracking` (fills exactly once), `reconcile`, `watchdog` (the dead man's switch) and
`redact`. The shell around them: `client` builds a venue's ccxt client, and `adapter` carries
the decisions out against one venue over ccxt (no Kafka in it: the processor around it writes
what it returns).
"""

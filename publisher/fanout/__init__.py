"""The fan-out: one delivery row per approved article and target account, sent by jobs (docs/FANOUT.md)."""

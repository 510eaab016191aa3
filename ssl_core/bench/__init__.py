"""Benchmarks that print figures (never asserted by timed tests): one file each, run through
`python -m ssl_core bench <name>` (see `ssl_core.cli`)."""

"""Scanned documents of the case file: checking and deriving scans (`scans`), unpacking ZIPs
(`zips`), storing and filing them in one transaction (`ingest`), and replacing, moving and
withdrawing them (`operations`)."""

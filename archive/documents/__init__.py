"""Scanned documents of the case file: checking and deriving scans (`scans`), unpacking ZIPs
(`zips`), storing and filing them in one transaction (`ingest`), and replacing, moving and
withdrawing them (`operations`); where the files live on disk (`storage`), refusing an
oversized upload while it arrives (`upload_limits`), and the pages: uploads (`upload_views`),
one document (`document_views`) and the only way to the files themselves (`file_views`)."""

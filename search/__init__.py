"""Record, document and OCR-text search: Elasticsearch when configured, else the database."""

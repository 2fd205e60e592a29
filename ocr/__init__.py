"""The OCR pipeline that reads scans and flags what disagrees with the record."""

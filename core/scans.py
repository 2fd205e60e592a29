"""The limits every scan is held to, at upload and by OCR alike (one set, so a file accepted
at upload is never refused by OCR). ``config/settings.py`` declares the settings with these
defaults (``SCAN_MAX_IMAGE_PIXELS``, ``SCAN_MAX_PAGES``, ``OCR_PDF_DPI``); ``ocr.pages``, the
one scan reader, applies them."""

from __future__ import annotations

#: Largest page accepted, in pixels: an A3 page at 600 dpi is 70 million, so 100 million
#: leaves room for any honest scan while refusing a decompression bomb.
MAX_IMAGE_PIXELS = 100_000_000
#: Most pages in one file: a case-file document is a few pages, a whole bound case file
#: scanned at once a few hundred; beyond that it is a mistake (or an attack).
MAX_PAGES = 500
#: Resolution OCR renders PDF pages at: enough for 9-point text on a photocopied card.
PDF_DPI = 250
#: A PDF page too large to render at this resolution within the pixel limit is refused (its
#: text would be unreadable), at upload as by OCR.
MIN_PDF_DPI = 100

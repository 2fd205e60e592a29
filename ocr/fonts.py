"""Where the CJK font lives, for rendering Chinese text (generated demo scans, OCR tests).

Debian's fonts-noto-cjk is installed by `scripts/bootstrap.sh`; fc-match finds it or any other
font that covers Chinese, so nothing hard-codes a path that another machine may not have.
"""

import shutil
import subprocess
from functools import cache
from pathlib import Path

_KNOWN = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
)


@cache
def cjk_font_path() -> str:
    for candidate in _KNOWN:
        if Path(candidate).exists():
            return candidate
    if shutil.which("fc-match"):
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", ":lang=zh-cn"],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if found and Path(found).exists():
            return found
    raise FileNotFoundError("No CJK font found: install Debian's fonts-noto-cjk.")

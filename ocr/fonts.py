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


#: The CJK faces Debian ships, by style, with the index of the Simplified Chinese face in
#: each collection: fonts-noto-cjk (sans 黑体, serif 宋体), fonts-arphic-ukai (楷体),
#: fonts-arphic-uming (明体), fonts-wqy-zenhei / fonts-wqy-microhei (正黑, 微米黑).  Debian
#: ships no free 仿宋 (fangsong) face.
_STYLES = {
    "sans": ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    "serif": ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    "kai": ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),
    "ming": ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    "zenhei": ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    "microhei": ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
}


@cache
def cjk_fonts() -> dict[str, tuple[str, int]]:
    """The installed CJK faces by style (path, face index), for the generated world."""
    found = {style: face for style, face in _STYLES.items() if Path(face[0]).exists()}
    if not found:
        return {"sans": (cjk_font_path(), 0)}
    return found

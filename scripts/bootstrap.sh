#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine, skipping whatever is already there.
#   scripts/bootstrap.sh run    system packages for running + runtime Python packages
#   scripts/bootstrap.sh test   the above + PostgreSQL, Redis, Chromium, Java/Maven + test tools
# Idempotent and quick on the second run: apt-get only runs for missing packages, pip only when
# the requirements files changed (a hash stamp in the virtualenv).
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-run}"
run_pkgs=(tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng fonts-noto-cjk)
# CJK faces of the generated OCR test world (ocr/world.py): 楷, 明, 正黑, 微米黑
test_fonts=(fonts-arphic-ukai fonts-arphic-uming fonts-wqy-zenhei fonts-wqy-microhei)
test_pkgs=(postgresql redis-server chromium openjdk-17-jdk-headless maven poppler-utils)

pkgs=("${run_pkgs[@]}")
[ "$mode" = test ] && pkgs+=("${test_pkgs[@]}" "${test_fonts[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing system packages (${missing[*]}); run as root or install them." >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating virtualenv with $python"
  "$python" -m venv .venv
fi

req=requirements.txt
[ "$mode" = test ] && req=requirements-dev.txt
stamp=".venv/.installed-$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)-$mode"
if [ ! -f "$stamp" ]; then
  echo "==> pip install -r $req"
  .venv/bin/python -m pip install -q --upgrade pip
  # Replaced on 2026-12-07 by rapidocr (PP-OCRv6) and opencv-python-headless: both OpenCV
  # packages install the same cv2 module, so the old one goes before the new one comes.
  .venv/bin/python -m pip uninstall -q -y rapidocr-onnxruntime opencv-python 2>/dev/null || true
  .venv/bin/python -m pip install -q -r "$req"
  touch "$stamp"
fi

#!/usr/bin/env python
"""Lists the Wagtail strings a zh-hans user would still read in English (or as "Wagtail").

Wagtail's own zh_Hans catalogue is incomplete; the project supplies the rest in
locale/zh_Hans/LC_MESSAGES (LOCALE_PATHS, which Django consults before any app's catalogue).
After a Wagtail upgrade, run this: it compares the English catalogue of every installed Wagtail
app with what Wagtail's zh_Hans (and its zh fallback) and the project translate, and prints each
msgid nobody translates, or whose Chinese still says "Wagtail". Exit status 1 when there is one.

    .venv/bin/python scripts/wagtail-missing-strings.py            list what is missing
    .venv/bin/python scripts/wagtail-missing-strings.py --update   add it, untranslated, to our .po
    .venv/bin/python scripts/wagtail-missing-strings.py --compile  compile our .po files to .mo

How the strings are supplied and checked: docs/ui.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import polib

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_LOCALE = BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES"
DOMAINS = ("django", "djangojs")
#: Python's gettext looks up zh_Hans, then zh (gettext._expand_lang), so Django does too.
WAGTAIL_LANGUAGES = ("zh_Hans", "zh")
BRAND = "Wagtail"

Key = tuple[str, str | None, str]  # (domain, msgctxt, msgid)


@dataclass(frozen=True)
class Missing:
    app: str
    entry: polib.POEntry
    domain: str
    wagtail_says: str  # Wagtail's own Chinese when it names the product, else ""

    @property
    def key(self) -> Key:
        return (self.domain, self.entry.msgctxt, self.entry.msgid)


def _key(domain: str, entry: polib.POEntry) -> Key:
    return (domain, entry.msgctxt, entry.msgid)


def _text(entry: polib.POEntry) -> str:
    return entry.msgstr or " ".join(entry.msgstr_plural.values())


def wagtail_locale_dirs() -> list[tuple[str, Path]]:
    """The locale directory of every installed Wagtail app, named like "wagtail.admin"."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django
    from django.apps import apps

    django.setup()
    return [
        (config.name, Path(config.path) / "locale")
        for config in apps.get_app_configs()
        if config.name.split(".")[0] == "wagtail" and (Path(config.path) / "locale").is_dir()
    ]


def translations(files: list[Path], domain: str) -> dict[Key, str]:
    """Translated, non-fuzzy entries of these .po files; the first file wins."""
    found: dict[Key, str] = {}
    for path in files:
        if path.exists():
            for entry in polib.pofile(str(path)):
                if entry.translated() and not entry.obsolete:
                    found.setdefault(_key(domain, entry), _text(entry))
    return found


def missing(include_project: bool = True) -> list[Missing]:
    """Every English msgid of an installed Wagtail app that nobody translates well."""
    dirs = wagtail_locale_dirs()
    result: list[Missing] = []
    seen: set[Key] = set()
    for domain in DOMAINS:
        ours = translations([PROJECT_LOCALE / f"{domain}.po"], domain) if include_project else {}
        theirs = translations(
            [
                d / lang / "LC_MESSAGES" / f"{domain}.po"
                for lang in WAGTAIL_LANGUAGES
                for _, d in dirs
            ],
            domain,
        )
        for app, locale_dir in dirs:
            english = locale_dir / "en" / "LC_MESSAGES" / f"{domain}.po"
            if not english.exists():
                continue
            for entry in polib.pofile(str(english)):
                key = _key(domain, entry)
                if entry.obsolete or not entry.msgid or key in seen:
                    continue
                seen.add(key)
                if BRAND not in ours.get(key, BRAND):
                    continue
                wagtail_says = theirs.get(key, "")
                if wagtail_says and BRAND not in wagtail_says:
                    continue
                result.append(Missing(app, entry, domain, wagtail_says))
    return result


def _new_catalogue(path: Path) -> polib.POFile:
    if path.exists():
        return polib.pofile(str(path), wrapwidth=100)
    po = polib.POFile(wrapwidth=100)
    po.metadata = {
        "Project-Id-Version": "subsidy archive",
        "Language": "zh_Hans",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": "nplurals=1; plural=0;",
    }
    return po


def update() -> int:
    """Adds every missing msgid, untranslated, to the project's .po files."""
    added = 0
    todo = missing(include_project=True)
    for domain in DOMAINS:
        path = PROJECT_LOCALE / f"{domain}.po"
        po = _new_catalogue(path)
        for item in todo:
            if item.domain != domain or po.find(item.entry.msgid, msgctxt=item.entry.msgctxt):
                continue
            entry = polib.POEntry(
                msgctxt=item.entry.msgctxt,
                msgid=item.entry.msgid,
                msgid_plural=item.entry.msgid_plural,
                comment=item.app
                + (f"; Wagtail says: {item.wagtail_says}" if item.wagtail_says else ""),
            )
            if item.entry.msgid_plural:
                entry.msgstr_plural = {0: ""}
            po.append(entry)
            added += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        po.save(str(path))
    return added


def compile_catalogues() -> None:
    for domain in DOMAINS:
        path = PROJECT_LOCALE / f"{domain}.po"
        if path.exists():
            polib.pofile(str(path)).save_as_mofile(str(path.with_suffix(".mo")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="add missing msgids to our .po")
    parser.add_argument("--compile", action="store_true", help="compile our .po files to .mo")
    args = parser.parse_args()
    if args.update:
        print(f"{update()} msgids added to {PROJECT_LOCALE.relative_to(BASE_DIR)}")
    if args.compile:
        compile_catalogues()
    if args.update or args.compile:
        return 0
    todo = missing()
    for item in todo:
        context = f" [{item.entry.msgctxt}]" if item.entry.msgctxt else ""
        print(f"{item.app} {item.domain}{context}: {item.entry.msgid!r}")
    print(f"{len(todo)} Wagtail msgids without a Chinese translation", file=sys.stderr)
    return 1 if todo else 0


if __name__ == "__main__":
    sys.exit(main())

"""The per-node help pages the ComfyUI frontend fetches (web/docs, written by scripts/make_node_docs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinesonic import NODE_CLASS_MAPPINGS

DOCS = Path(__file__).resolve().parents[1] / "web" / "docs"


@pytest.mark.parametrize("key", sorted(NODE_CLASS_MAPPINGS))
def test_every_node_has_a_help_page_naming_its_inputs(key):
    # The frontend asks for docs/<Node>/<locale>.md first, then docs/<Node>.md: both exist (English).
    plain, english = DOCS / f"{key}.md", DOCS / key / "en.md"
    assert plain.is_file() and english.is_file(), f"run: python scripts/make_node_docs.py ({key} has no page)"
    text = plain.read_text(encoding="utf-8")
    assert english.read_text(encoding="utf-8") == text
    spec = NODE_CLASS_MAPPINGS[key].INPUT_TYPES()
    for section in ("required", "optional"):
        for name in spec.get(section) or {}:
            assert f"`{name}`" in text, f"{plain.name} does not describe input {name!r}: rerun the script"

"""Write the per-node help pages the ComfyUI frontend asks for: web/docs/<NodeType>.md and <NodeType>/en.md.

    python scripts/make_node_docs.py          # (re)write every page from the node classes
    python scripts/make_node_docs.py --check  # exit 1 when a page is missing or out of date

The frontend's help panel fetches ``/extensions/<pack>/docs/<NodeType>/<locale>.md`` and falls back
to ``docs/<NodeType>.md``; both are written (same text) so neither request is a 404 in English.
Each page is made from the node's own DESCRIPTION, input specs (type, default, range, tooltip) and
output tooltips, plus the hand-written usage notes in USAGE below.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "web" / "docs"

USAGE = {
    "KinesonicDrawTrajectories": """\
## Using the editor

- **Image**: connect the first frame to `image` (a Load Image shows at once; any other source
  shows after the first run). It is fitted to `width` x `height` (the generator's frame, 64x64 for
  the default tiny model) with `resize`, and that fitted frame is the `first_frame` output:
  connect it to the generator so what you draw on is what is generated.
- **Tracks**: one track per object. `+ track` adds one, `delete track` removes the selected one,
  the colour box recolours it. A track of one point is a static object.
- **Points**: click on the image to add a point at the end of the selected track's path; drag a
  point to move it; right-click a point to delete it (or `delete point`).
- **Timing**: select a point and type its frame in `key frame`; `auto` clears it. An untimed point
  is passed on the way between the timed points around it, at the speed the easing gives (the
  first point defaults to frame 0, the last to the last frame). `linear` moves at constant speed,
  `ease in-out` starts and ends at rest. The small dots are the object's position at every frame:
  their spacing is its speed.
- **Scrubber**: drag it (or press play) to see where every object is at a frame.
- **Physics assist**: with `drag: throw velocity`, drag from a track's first point to set its
  initial velocity (the arrow shows a quarter second of flight); with `click: floor line`, click
  where the floor is; pick the ball's and the floor's material and press `simulate`: the pack's
  rigid-body simulator fills the track with the ballistic path and its bounces as timed points,
  which you can then edit.
- **Saved with the workflow**: the drawing lives in the hidden `editor` text (JSON); the headless
  runner (`kinesonic run`) turns it into the same tracks.
""",
}


def _is_file_choice(value: object) -> bool:
    """A combo entry naming a file (or a placeholder such as '(no files)'): machine-dependent."""
    text = str(value)
    return text.startswith("(") or ("." in text[-8:] and not text.replace(".", "").isdigit())


def _spec_line(name: str, spec: tuple) -> str:
    kind = spec[0]
    opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    files = isinstance(kind, (list, tuple)) and any(_is_file_choice(v) for v in kind)
    if files:
        kind_text = "a file name from the list (what is in the folder)"
    elif isinstance(kind, (list, tuple)):
        shown = ", ".join(f"`{v}`" for v in kind[:8]) + (", ..." if len(kind) > 8 else "")
        kind_text = f"one of {shown}" if kind else "choice"
    else:
        kind_text = f"`{kind}`"
    facts = []
    default = opts.get("default")
    if (
        "default" in opts
        and not files
        and not (isinstance(default, str) and (len(default) > 40 or not default))
    ):
        facts.append(f"default `{default}`")
    if "min" in opts and "max" in opts:
        facts.append(f"{opts['min']} .. {opts['max']}")
    tip = opts.get("tooltip", "")
    extra = f" ({'; '.join(facts)})" if facts else ""
    return f"| `{name}` | {kind_text}{extra} | {tip} |"


def page(key: str, cls: type, display: str) -> str:
    """The Markdown help page of node type ``key``."""
    lines = [f"# {display}", "", getattr(cls, "DESCRIPTION", "").strip(), ""]
    spec = cls.INPUT_TYPES()
    for section, title in (("required", "Inputs"), ("optional", "Optional inputs")):
        items = spec.get(section) or {}
        if not items:
            continue
        lines += [f"## {title}", "", "| input | type | what it is |", "|---|---|---|"]
        lines += [_spec_line(name, s) for name, s in items.items()]
        lines.append("")
    names = getattr(cls, "RETURN_NAMES", None) or cls.RETURN_TYPES
    tips = getattr(cls, "OUTPUT_TOOLTIPS", ()) or ()
    if cls.RETURN_TYPES:
        lines += ["## Outputs", "", "| output | type | what it is |", "|---|---|---|"]
        for i, (name, kind) in enumerate(zip(names, cls.RETURN_TYPES, strict=False)):
            lines.append(f"| `{name}` | `{kind}` | {tips[i] if i < len(tips) else ''} |")
        lines.append("")
    if key in USAGE:
        lines += [USAGE[key].rstrip(), ""]
    lines += [f"Category: `{getattr(cls, 'CATEGORY', '')}` · node type `{key}`", ""]
    return "\n".join(lines)


def pages() -> dict[Path, str]:
    """Every help page to write: {path: text}."""
    sys.path.insert(0, str(ROOT.parent))
    from kinesonic import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

    out = {}
    for key, cls in sorted(NODE_CLASS_MAPPINGS.items()):
        text = page(key, cls, NODE_DISPLAY_NAME_MAPPINGS.get(key, key))
        out[DOCS / f"{key}.md"] = text
        out[DOCS / key / "en.md"] = text
    return out


def main(argv: list[str]) -> int:
    wanted = pages()
    if "--check" in argv:
        stale = [p for p, t in wanted.items() if not p.is_file() or p.read_text(encoding="utf-8") != t]
        for p in stale:
            print(f"out of date: {p.relative_to(ROOT)}")
        return 1 if stale else 0
    for path, text in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(wanted)} pages under {DOCS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

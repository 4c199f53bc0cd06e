"""Slide metadata for presenting a chapter with RISE (JupyterLab) or as a reveal.js deck.

Usage::

    python -m utils.slides chapters/*.ipynb      # writes the metadata in place (idempotent)
    make slides                                  # one reveal.js deck per chapter in _build/slides/

Every cell's ``metadata.slideshow.slide_type`` is computed from the cell alone and its place in
the chapter, so running the tool twice changes nothing, and re-running it after editing a chapter
updates the slides:

- the title cell and each ``##`` section start a slide; each ``###`` starts a sub-slide;
- a Markdown cell with display math (a derivation step) is a fragment: it appears on a click;
- a code cell that draws a figure is a sub-slide of its own; its code is hidden in the deck if it
  is tagged ``hide-input`` or longer than :data:`MAX_CODE_LINES` lines (the tool then tags it
  ``slide-hide-input``, which ``make slides`` honours and the book ignores);
- tests and bookkeeping are skipped: verification cells (``# NBVAL_CHECK_OUTPUT``), asserts,
  exercise solutions and their check cells, the set-up cell, and every code cell longer than
  :data:`MAX_CODE_LINES` lines (or with more than :data:`MAX_OUTPUT_LINES` lines of text output);
- every other cell continues the current slide (``-``).

A cell tagged ``slide-keep`` keeps the slide type written by hand.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

__all__ = ["MAX_CODE_LINES", "MAX_OUTPUT_LINES", "slide_type", "annotate", "annotate_file"]

MAX_CODE_LINES = 15  # about what fits on a projected slide under a heading
MAX_OUTPUT_LINES = 12

_TEST = re.compile(r"^\s*(# NBVAL_CHECK_OUTPUT|assert\b|check_(function|close|true)\(|checks\.)", re.MULTILINE)
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$|\\begin\{(align|equation|gather)\*?\}.*?\\end\{\1\*?\}", re.DOTALL)


def _text_output_lines(cell) -> int:
    n = 0
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            n += len(output.get("text", "").splitlines())
        elif "text/plain" in output.get("data", {}) and "image/png" not in output.get("data", {}):
            n += len(output["data"]["text/plain"].splitlines())
    return n


def _has_figure(cell) -> bool:
    return any("image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {}) for o in cell.get("outputs", []))


def slide_type(cell, index: int) -> str:
    """The slide type of one cell: ``slide``, ``subslide``, ``fragment``, ``skip`` or ``-``.

    Args:
        cell: an nbformat cell.
        index: its position in the notebook (0 is the title cell).

    Returns:
        The value for ``cell.metadata.slideshow.slide_type``.
    """
    source = cell.source.strip()
    tags = cell.metadata.get("tags", [])
    if index == 0:
        return "slide"
    if cell.cell_type == "markdown":
        if source.startswith("## "):
            return "slide"
        if source.startswith("### "):
            return "subslide"
        if _DISPLAY_MATH.search(source):
            return "fragment"
        return "-"
    if cell.cell_type != "code" or not source:
        return "skip"
    if "solution" in tags or "remove-cell" in tags:
        return "skip"
    if _has_figure(cell):
        return "subslide"
    if _TEST.search(source) or "seed_everything(" in source:
        return "skip"
    if len(source.splitlines()) > MAX_CODE_LINES or _text_output_lines(cell) > MAX_OUTPUT_LINES:
        return "skip"
    return "-"


def annotate(nb) -> int:
    """Write the slide metadata of every cell of a notebook in place; return how many cells changed."""
    changed = 0
    for i, cell in enumerate(nb.cells):
        tags = list(cell.metadata.get("tags", []))
        if "slide-keep" in tags:
            continue
        new = slide_type(cell, i)
        hide = new == "subslide" and cell.cell_type == "code" and len(cell.source.strip().splitlines()) > MAX_CODE_LINES
        new_tags = [t for t in tags if t != "slide-hide-input"] + (["slide-hide-input"] if hide else [])
        if cell.metadata.get("slideshow", {}).get("slide_type") != new or new_tags != tags:
            cell.metadata["slideshow"] = {"slide_type": new}
            if new_tags:
                cell.metadata["tags"] = new_tags
            else:
                cell.metadata.pop("tags", None)
            changed += 1
    return changed


def annotate_file(path: Path) -> int:
    """Annotate one ``.ipynb`` file in place (rewritten only if something changed); return the count."""
    nb = nbformat.read(path, as_version=4)
    changed = annotate(nb)
    if changed:
        nbformat.write(nb, path)
    return changed


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python -m utils.slides NOTEBOOK.ipynb [...]")
    for name in sys.argv[1:]:
        print(f"{name}: {annotate_file(Path(name))} cell(s) updated")

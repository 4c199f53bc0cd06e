"""Presenting: utils.slides writes slide metadata idempotently, and each chapter makes a sensible deck.

Runs on copies of the chapters (the tool writes in place), then ``jupyter nbconvert --to slides``
with the options ``make slides`` uses.
"""

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from utils.slides import MAX_CODE_LINES, annotate, annotate_file, slide_type

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def _make_variable(name: str) -> list[str]:
    """The options of a Makefile variable such as SLIDES, so the test runs what make slides runs."""
    for line in (ROOT / "Makefile").read_text().splitlines():
        if line.startswith(name) and ":=" in line:
            words = shlex.split(line.split(":=", 1)[1])
            return words[1:]  # drop $(BIN)/jupyter
    raise AssertionError(f"no {name} in the Makefile")


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    work = tmp_path_factory.mktemp("slides")
    for nb in CHAPTERS:
        shutil.copy(nb, work / nb.name)
    first = {nb.name: annotate_file(work / nb.name) for nb in CHAPTERS}
    second = {nb.name: annotate_file(work / nb.name) for nb in CHAPTERS}
    jupyter = Path(sys.executable).parent / "jupyter"
    command = [str(jupyter), *_make_variable("SLIDES"), "--output-dir", str(work / "out"), *[str(work / nb.name) for nb in CHAPTERS]]
    result = subprocess.run(command, capture_output=True, text=True, cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    return work, first, second


def test_metadata_is_idempotent(decks):
    _, first, second = decks
    assert all(n > 0 for n in first.values()) or first == second
    assert all(n == 0 for n in second.values()), f"a second run changed cells: {second}"


def test_every_chapter_makes_a_sensible_deck(decks):
    work, _, _ = decks
    for nb in CHAPTERS:
        deck = work / "out" / f"{nb.stem}.slides.html"
        assert deck.exists(), f"no deck for {nb.name}"
        soup = BeautifulSoup(deck.read_text(), "html.parser")
        slides = soup.select("div.slides > section")
        subslides = soup.select("div.slides > section > section")
        sections = sum(c.source.startswith("## ") for c in nbformat.read(nb, as_version=4).cells if c.cell_type == "markdown")
        assert sections + 1 <= len(slides) <= 60, f"{nb.name}: {len(slides)} slides for {sections} sections"
        assert len(subslides) <= 150, f"{nb.name}: {len(subslides)} sub-slides"
        for pre in soup.select(".jp-CodeCell .jp-InputArea pre"):
            lines = pre.get_text().strip().splitlines()
            assert len(lines) <= MAX_CODE_LINES, f"{nb.name}: a {len(lines)}-line code cell on a slide:\n{lines[:3]}"
        text = soup.get_text()
        assert "NBVAL_CHECK_OUTPUT" not in text, f"{nb.name}: a test cell is on a slide"
        assert "# Exercise" not in "".join(p.get_text() for p in soup.select(".jp-CodeCell pre")), f"{nb.name}: a solution is on a slide"


def test_slide_types_of_typical_cells():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    assert slide_type(md("# Title"), 0) == "slide"
    assert slide_type(md("## A section"), 3) == "slide"
    assert slide_type(md("### A step"), 4) == "subslide"
    assert slide_type(md("so\n$$a = b$$"), 5) == "fragment"
    assert slide_type(md("Some words."), 5) == "-"
    assert slide_type(code("# NBVAL_CHECK_OUTPUT\nprint(1)"), 6) == "skip"
    assert slide_type(code("x = 1\nassert x == 1"), 6) == "skip"
    assert slide_type(code("\n".join(f"x{i} = {i}" for i in range(MAX_CODE_LINES + 1))), 6) == "skip"
    assert slide_type(code("y = f(x)"), 6) == "-"
    solution = code("# Exercise 1: t\ndef f():\n    return 1")
    solution.metadata["tags"] = ["solution", "hide-input"]
    assert slide_type(solution, 7) == "skip"
    figure = code("plot()")
    figure.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "AAAA", "text/plain": "<Figure>"})]
    assert slide_type(figure, 8) == "subslide"
    nb = nbformat.v4.new_notebook(cells=[md("# T"), md("## S")])
    nb.cells[1].metadata["tags"] = ["slide-keep"]
    nb.cells[1].metadata["slideshow"] = {"slide_type": "skip"}
    assert annotate(nb) == 1 and nb.cells[1].metadata["slideshow"]["slide_type"] == "skip"

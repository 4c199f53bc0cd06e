"""The website builds from the stored outputs with no Sphinx warning, and shows every chapter."""

import atexit
import functools
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def build_site() -> Path:
    """Build the book once per test session, without executing anything, warnings as errors.

    Returns the ``_build/html`` directory (a temporary one, removed at exit). The browser test
    (tests/test_browser.py) reuses the same build.
    """
    out = Path(tempfile.mkdtemp(prefix="course-site-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    config = yaml.safe_load((ROOT / "book.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"  # the stored outputs, as committed
    (out / "book.yml").write_text(yaml.safe_dump(config))
    jb = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jb), "build", str(ROOT), "--config", str(out / "book.yml"), "--toc", str(ROOT / "toc.yml"), "--path-output", str(out), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, f"the site build failed or warned:\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}"
    return out / "_build" / "html"


@pytest.fixture(scope="module")
def site():
    return build_site()


def test_front_page_links_every_chapter(site):
    index = (site / "index.html").read_text()
    for entry in yaml.safe_load((ROOT / "toc.yml").read_text())["chapters"]:
        assert Path(entry["file"]).name + ".html" in index, f"{entry['file']} missing from the front page"


def test_every_chapter_page_has_its_figures_and_hides_its_solutions(site):
    for entry in yaml.safe_load((ROOT / "toc.yml").read_text())["chapters"]:
        page = site / (entry["file"] + ".html")
        assert page.exists(), f"{page.name} was not built"
        html = page.read_text()
        images = re.findall(r'<img[^>]+src="([^"]+)"', html)
        figures = [src for src in images if "_images/" in src]
        assert len(figures) >= 3, f"{page.name} shows {len(figures)} figures"
        for src in figures:
            assert (page.parent / src).resolve().exists(), f"{page.name}: missing image {src}"
        assert "NotImplementedError" not in html
        assert "tag_solution" in html and "tag_hide-input" in html, f"{page.name}: exercise solutions are not hidden"


def test_math_is_served_from_the_site_itself(site):
    page = (site / "chapters" / "03_vae_elbo.html").read_text()
    scripts = re.findall(r'<script[^>]+src="([^"]*MathJax[^"]*)"', page)
    assert scripts and all("://" not in src for src in scripts), f"MathJax comes from the network: {scripts}"
    assert (site / "_static" / "mathjax" / "MathJax.js").exists()


def test_gallery_and_downloads(site):
    index = (site / "index.html").read_text()
    for entry in yaml.safe_load((ROOT / "toc.yml").read_text())["chapters"]:
        name = Path(entry["file"]).name
        assert f"_static/gallery/{name}.png" in index, f"no gallery figure for {name}"
        assert (site / "_static" / "gallery" / f"{name}.png").exists()
        page = (site / (entry["file"] + ".html")).read_text()
        for kind in ("student", "full"):
            assert f"../notebooks/{kind}/{name}.ipynb" in page, f"{name}: no {kind} notebook link"
            assert (site / "notebooks" / kind / f"{name}.ipynb").exists()
        student = (site / "notebooks" / "student" / f"{name}.ipynb").read_text()
        assert "NotImplementedError" in student


def test_gallery_takes_the_tagged_or_first_figure_and_tolerates_missing_chapters(tmp_path):
    import base64

    import nbformat

    from utils.site import extract_gallery

    def figure_cell(payload: bytes, tags=()):
        cell = nbformat.v4.new_code_cell("plot()")
        cell.metadata["tags"] = list(tags)
        cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(payload).decode(), "text/plain": "<Figure>"})]
        return cell

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"), figure_cell(b"first"), figure_cell(b"chosen", ["gallery"])])
    nbformat.write(nb, tmp_path / "01_a.ipynb")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# U")]), tmp_path / "02_b.ipynb")
    written = extract_gallery([tmp_path / "01_a.ipynb", tmp_path / "02_b.ipynb", tmp_path / "04_not_yet.ipynb"], tmp_path / "gallery")
    assert set(written) == {"01_a"}
    assert (tmp_path / "gallery" / "01_a.png").read_bytes() == b"chosen"
    nb.cells[2].metadata["tags"] = []
    nbformat.write(nb, tmp_path / "01_a.ipynb")
    extract_gallery([tmp_path / "01_a.ipynb"], tmp_path / "gallery")
    assert (tmp_path / "gallery" / "01_a.png").read_bytes() == b"first"


# Figures are drawn at dpi 100 and shown in a text column of about 680-780 px (see utils/plotting.py):
# ticks and legends keep the rcParams' 11 pt (9.2 pt or more as displayed); a cell may set a font
# explicitly (crowded annotations, panel titles) but never below 10 pt.
SMALL_FONT = re.compile(r"""(?:fontsize|labelsize|font_size)\s*=\s*(?:(?P<size>\d+(?:\.\d+)?)|["'](?:x-|xx-)?small["'])""")


def test_figures_do_not_set_fonts_below_the_readable_minimum():
    import nbformat

    offenders = []
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type != "code":
                continue
            for match in SMALL_FONT.finditer(cell.source):
                if match["size"] is None or float(match["size"]) < 10:
                    offenders.append(f"{path.name} cell {index}: {match.group(0)}")
    assert not offenders, "fonts too small to read on the website:\n" + "\n".join(offenders)


def test_plotting_defaults_are_readable():
    import matplotlib.pyplot as plt

    import utils.plotting  # noqa: F401  (sets the rcParams)

    for key in ("xtick.labelsize", "ytick.labelsize", "legend.fontsize"):
        assert float(plt.rcParams[key]) >= 11, key

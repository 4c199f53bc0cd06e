"""The website builds from the stored outputs with no Sphinx warning, and shows every chapter."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the book once, without executing anything, warnings as errors."""
    out = tmp_path_factory.mktemp("site")
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

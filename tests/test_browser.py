"""Every page of the built site, opened in headless Chromium with no network.

Checks, page by page: the math is typeset by the site's own MathJax (no raw ``\\(`` or ``$$``
left in the text, no TeX error), every image loads, every local link (the table of contents
included) points to a file that exists, exercise solutions are collapsed, and the page raises
no JavaScript error. Screenshots at desktop (1280 px) and phone (390 px) width are written to
``_build/screenshots/`` for people to look at.

Chromium comes from Debian's ``chromium`` package (``apt-get install -y chromium``; ``.ci/run``
installs it). Without it the test is skipped with that message.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup

from test_site import ROOT, build_site

SCREENSHOTS = ROOT / "_build" / "screenshots"
BUDGET_MS = 20000  # virtual time for scripts (MathJax) to finish before the DOM is dumped

# Injected first into each page's <head> (in a copy of the site): records errors, failed
# resources and the state of images, fonts and solutions on <html data-course-probe="...">.
PROBE = """<script>
(function () {
  var errors = [];
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) errors.push("failed to load " + (t.src || t.href));
    else errors.push("error: " + e.message + " at " + e.filename + ":" + e.lineno);
  }, true);
  window.addEventListener("unhandledrejection", function (e) { errors.push("unhandled rejection: " + e.reason); });
  var consoleError = console.error;
  console.error = function () { errors.push("console.error: " + Array.prototype.join.call(arguments, " ")); consoleError.apply(console, arguments); };
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.images, function (img) { img.loading = "eager"; });
  });
  function report() {
    var images = Array.prototype.map.call(document.images, function (img) {
      return {src: img.getAttribute("src"), ok: img.complete && img.naturalWidth > 0};
    });
    var solutions = Array.prototype.map.call(document.querySelectorAll(".tag_solution .cell_input"), function (el) {
      return el.checkVisibility ? el.checkVisibility() : el.getClientRects().length > 0;
    });
    var fonts = [];
    if (document.fonts) document.fonts.forEach(function (f) { if (f.status === "error") fonts.push(f.family); });
    var mathjax = window.MathJax && window.MathJax.Hub ? {loaded: true, queue_pending: MathJax.Hub.queue.pending || 0} : {loaded: false};
    document.documentElement.setAttribute("data-course-probe", JSON.stringify(
      {errors: errors, images: images, solutions_visible: solutions, failed_fonts: fonts, mathjax: mathjax}));
  }
  setInterval(report, 250);
})();
</script>"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("Chromium is not installed: the browser test needs it (Debian/Ubuntu: apt-get install -y chromium; .ci/run installs it)")


def run_chromium(url: str, width: int, height: int, screenshot: Path, dump: bool) -> str:
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
        "--disable-extensions", "--disable-background-networking", "--mute-audio",
        f"--window-size={width},{height}", f"--virtual-time-budget={BUDGET_MS}", f"--screenshot={screenshot}",
    ]
    if dump:
        command.append("--dump-dom")
    result = subprocess.run(command + [url], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"chromium failed on {url}:\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Each page: (relative path, the DOM after scripts ran, the probe's report). Screenshots on the way."""
    chromium()
    site = tmp_path_factory.mktemp("browser") / "html"
    shutil.copytree(build_site(), site)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    results = {}
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site)
        if rel.parts[0] in ("_static", "_sources", "notebooks"):
            continue
        text = page.read_text()
        page.write_text(text.replace("<head>", "<head>" + PROBE, 1))
        stem = str(rel.with_suffix("")).replace("/", "__")
        dom = run_chromium(page.as_uri(), 1280, 1600, SCREENSHOTS / f"{stem}-desktop.png", dump=True)
        run_chromium(page.as_uri(), 390, 844, SCREENSHOTS / f"{stem}-phone.png", dump=False)
        soup = BeautifulSoup(dom, "html.parser")
        probe = soup.html.get("data-course-probe") if soup.html else None
        assert probe, f"{rel}: the page's scripts did not run (no probe report)"
        results[str(rel)] = (page, soup, json.loads(probe))
    return results


def test_every_page_was_opened(pages):
    for entry in ("index.html", "chapters/01_pca_kmeans.html"):
        assert entry in pages
    assert len(list(SCREENSHOTS.glob("*-phone.png"))) >= len(pages)


def test_no_javascript_error_and_math_loaded(pages):
    for rel, (_, soup, probe) in pages.items():
        assert not probe["errors"], f"{rel}: {probe['errors'][:5]}"
        # MathJax 2 declares its TeX fonts (MathJax_*) but, configured for the STIX web fonts that
        # the package ships, never draws with them; any other font must load.
        failed = [f for f in probe["failed_fonts"] if not f.startswith("MathJax_")]
        assert not failed, f"{rel}: fonts failed to load: {failed}"
        if soup.select(".math"):
            assert probe["mathjax"]["loaded"], f"{rel}: MathJax did not load from the site"


def test_nothing_is_loaded_from_the_network(pages):
    for rel, (_, soup, _) in pages.items():
        remote = [t.get("src") or t.get("href") for t in soup.select("script[src], link[href], img[src]") if "://" in (t.get("src") or t.get("href")) and not (t.get("src") or t.get("href")).startswith("file:")]
        assert not remote, f"{rel}: loads {remote[:3]} from the network"


def test_math_is_typeset(pages):
    typeset = 0
    for rel, (_, soup, _) in pages.items():
        sources = soup.select('script[type^="math/tex"]')  # MathJax 2 keeps each source in such a script
        rendered = soup.select("span.MathJax, span.MathJax_SVG, span.MathJax_CHTML")
        assert len(rendered) == len(sources), f"{rel}: {len(sources)} formulas, {len(rendered)} typeset"
        errors = [e.get_text()[:80] for e in soup.select(".MathJax_Error, .merror, [data-mjx-error]")]
        assert not errors, f"{rel}: TeX errors {errors}"
        for tag in soup(["script", "style", "pre", "code", "textarea"]):
            tag.decompose()
        for tag in soup.select(".MJX_Assistive_MathML, .MathJax_Preview, .highlight, .cell_input"):
            tag.decompose()
        text = soup.get_text(" ")
        raw = [text[max(0, m.start() - 40) : m.end() + 40] for m in re.finditer(r"\\\(|\\\[|\$\$|\\begin\{", text)]
        assert not raw, f"{rel}: math left as raw LaTeX: {raw[:3]}"
        for tag in soup.select(".cell_output, .output"):
            tag.decompose()
        prose = soup.get_text(" ")
        dollars = [prose[max(0, m.start() - 40) : m.end() + 40] for m in re.finditer(r"\$", prose)]
        assert not dollars, f"{rel}: a stray '$' in the text (math not parsed): {dollars[:3]}"
        typeset += len(rendered)
        if rel.startswith("chapters/"):
            assert rendered, f"{rel}: a chapter page with no typeset formula"
    assert typeset > 100


def test_every_image_loads(pages):
    for rel, (_, soup, probe) in pages.items():
        broken = [img["src"] for img in probe["images"] if not img["ok"]]
        assert not broken, f"{rel}: images that did not load: {broken[:5]}"
        if rel.startswith("chapters/"):
            assert len(probe["images"]) >= 3, f"{rel}: {len(probe['images'])} images"
    assert len(pages["index.html"][2]["images"]) >= len([p for p in pages if p.startswith("chapters/")])


def test_local_links_and_table_of_contents_resolve(pages):
    for rel, (page, soup, _) in pages.items():
        toc = soup.select("nav.bd-docs-nav a[href], .bd-sidebar-primary a[href]")
        assert toc or rel in ("genindex.html", "search.html"), f"{rel}: no table of contents"
        for a in soup.select("a[href]"):
            parts = urlsplit(a["href"])
            if parts.scheme or parts.netloc or not parts.path:
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            assert target.exists(), f"{rel}: link to {a['href']} points to no file"


def test_exercise_solutions_are_collapsed(pages):
    chapters = {rel: v for rel, v in pages.items() if rel.startswith("chapters/")}
    for rel, (_, soup, probe) in chapters.items():
        assert probe["solutions_visible"], f"{rel}: no exercise solution found"
        assert not any(probe["solutions_visible"]), f"{rel}: a solution is shown without a click"
        for cell in soup.select(".tag_solution"):
            details = cell.find("details")
            assert details is not None and not details.has_attr("open"), f"{rel}: a solution is not collapsed"

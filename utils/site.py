"""The course website's Sphinx extension: offline math, the front page's gallery, notebook downloads.

Jupyter Book loads it from ``book.yml`` (``sphinx: extra_extensions: [utils.site]``). It

- copies MathJax (from the ``jupyter-server-mathjax`` package, which ``make setup`` installs)
  into the built site's ``_static/mathjax/`` whenever ``mathjax_path`` is a local path, so that
  every equation renders with no network (a ``https://`` ``mathjax_path`` uses a CDN instead);
- extracts one figure per chapter from the chapter's own stored outputs (the first image output,
  or the first one of a cell tagged ``gallery``) into ``_static/gallery/`` of the built site, and
  provides the directives ``course-gallery`` (the thumbnails) and ``course-chapters`` (the chapter
  list, from a YAML body; chapters not yet written are listed without a link);
- copies each chapter notebook (``notebooks/full/``) and its student copy with every exercise
  solution stubbed (``notebooks/student/``, made by :mod:`utils.student`) into the built site, and
  puts a download box under each chapter's title;
- bounds each wait for a kernel message while the chapters execute (the headless stall after widget
  cells, :func:`utils.run_chapters.patch_kernel_channels`).
"""

from __future__ import annotations

import base64
import html
import os
import shutil
from pathlib import Path

import nbformat
import yaml

__all__ = ["mathjax_dir", "first_figure", "extract_gallery", "setup"]

DOWNLOADS = "notebooks"


def mathjax_dir() -> Path:
    """The directory holding MathJax 2's ``MathJax.js``, shipped by ``jupyter-server-mathjax``.

    Returns:
        The package's ``static`` directory.

    Raises:
        ModuleNotFoundError: if ``jupyter-server-mathjax`` is not installed (run ``make setup``).
    """
    import jupyter_server_mathjax

    return Path(jupyter_server_mathjax.__file__).parent / "static"


def first_figure(notebook: Path) -> bytes | None:
    """The PNG bytes of a notebook's gallery figure, or None if it has no image output.

    Args:
        notebook: path of a stored, executed ``.ipynb``.

    Returns:
        The first ``image/png`` output of the first code cell tagged ``gallery``, else of the
        first code cell with an image output; None when there is none.
    """
    nb = nbformat.read(notebook, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in cells if "gallery" in c.metadata.get("tags", [])]
    for cell in tagged + cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                return base64.b64decode(png if isinstance(png, str) else "".join(png))
    return None


def extract_gallery(chapters: list[Path], out_dir: Path) -> dict[str, Path]:
    """Write each chapter's gallery figure to ``out_dir/<stem>.png``.

    Args:
        chapters: notebook paths; missing files and notebooks without images are skipped.
        out_dir: the directory to write into (created).

    Returns:
        Notebook stem -> path of the written PNG.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for nb in chapters:
        if not nb.exists():
            continue
        png = first_figure(nb)
        if png is not None:
            (out_dir / f"{nb.stem}.png").write_bytes(png)
            written[nb.stem] = out_dir / f"{nb.stem}.png"
    return written


def _chapter_docs(app) -> list[str]:
    """The chapter documents of the build (``chapters/NN_name``), in order."""
    return sorted(d for d in app.env.found_docs if d.startswith("chapters/"))


def _title(app, docname: str) -> str:
    title = app.env.titles.get(docname)
    if title is not None:
        return title.astext()
    nb = nbformat.read(Path(app.srcdir) / f"{docname}.ipynb", as_version=4)
    return nb.cells[0].source.splitlines()[0].lstrip("# ").strip()


def _copy_mathjax(app) -> None:
    if app.builder.format != "html" or "://" in (app.config.mathjax_path or ""):
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    if not (target / "MathJax.js").exists():
        shutil.copytree(mathjax_dir(), target, dirs_exist_ok=True)


def _write_assets(app, exception) -> None:
    """After the build: the gallery figures and the notebooks to download."""
    if exception is not None or app.builder.format != "html":
        return
    from utils.student import export_notebook

    out = Path(app.outdir)
    notebooks = [Path(app.srcdir) / f"{d}.ipynb" for d in _chapter_docs(app)]
    extract_gallery(notebooks, out / "_static" / "gallery")
    for nb in notebooks:
        if nb.exists():
            (out / DOWNLOADS / "full").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(nb, out / DOWNLOADS / "full" / nb.name)
            export_notebook(nb, out / DOWNLOADS / "student" / nb.name)


def _offline_scripts(app, pagename, templatename, context, doctree) -> None:
    """Keep a page's scripts local and unique.

    - Drops repeated inline scripts: sphinx-thebe adds its ``const THEBE_JS_URL`` once per reading
      pass, and a second ``const`` declaration is a JavaScript error on every page.
    - Drops the scripts that myst-nb loads from CDNs for ipywidgets (require.js and
      ``@jupyter-widgets/html-manager``) and the saved widget state: with no kernel a widget on a
      static page cannot call Python, and offline the scripts fail to load. The chapters show each
      widget's figure for a fixed value (the static fallback); the sliders move in JupyterLab.
    """
    if "script_files" not in context:
        return
    seen, unique = set(), []
    for js in context["script_files"]:
        filename = os.fspath(js.filename or "")
        attributes = getattr(js, "attributes", {})
        if "://" in filename or attributes.get("type") == "application/vnd.jupyter.widget-state+json":
            continue
        key = (filename, tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def _default_mode(app, config) -> None:
    """Give the theme a default colour mode, so that a first visit (empty localStorage, as from
    ``file://``) does not log "Got invalid theme mode" as a console error."""
    config.html_context = {"default_mode": "auto", **(config.html_context or {})}


def _download_box(app, pagename, templatename, context, doctree) -> None:
    """Put the notebook downloads under a chapter page's title."""
    if not pagename.startswith("chapters/") or "body" not in context:
        return
    name = Path(pagename).name + ".ipynb"
    box = (
        '<div class="admonition tip course-downloads"><p class="admonition-title">Run this chapter yourself</p>'
        f'<p>Download the <a href="../{DOWNLOADS}/student/{name}" download>student notebook</a> '
        f"(each exercise solution replaced by a stub for you to fill in) or the "
        f'<a href="../{DOWNLOADS}/full/{name}" download>full notebook</a> (with the solutions and stored outputs). '
        "Run it in JupyterLab (in the course repository: <code>make lab</code>): this page shows the stored figures, and the sliders "
        "and other interactive widgets only move in a running notebook.</p></div>"
    )
    body = context["body"]
    end = body.find("</h1>")
    context["body"] = body[: end + 5] + box + body[end + 5 :] if end >= 0 else box + body


def _gallery_node(app, docname: str):
    from docutils import nodes

    items = []
    for doc in _chapter_docs(app):
        stem = Path(doc).name
        if not (Path(app.srcdir) / f"{doc}.ipynb").exists():
            continue
        number = stem.split("_", 1)[0].lstrip("0")
        title = html.escape(_title(app, doc))
        items.append(
            f'<a class="course-gallery-item" href="{doc}.html">'
            f'<img src="_static/gallery/{stem}.png" alt="A figure from chapter {number}: {title}">'
            f"<span>{number}. {title}</span></a>"
        )
    return nodes.raw("", '<div class="course-gallery">' + "".join(items) + "</div>", format="html")


def setup(app):
    from docutils import nodes
    from docutils.parsers.rst import Directive

    from utils.run_chapters import patch_kernel_channels

    patch_kernel_channels()  # myst-nb executes the chapters in this process: no stall after widget cells

    class GalleryDirective(Directive):
        """``course-gallery``: one thumbnail per chapter, linking to it."""

        has_content = False

        def run(self):
            env = self.state.document.settings.env
            return [_gallery_node(env.app, env.docname)]

    class ChaptersDirective(Directive):
        """``course-chapters``: the chapter list from a YAML body (number: title, proves, trains)."""

        has_content = True

        def run(self):
            env = self.state.document.settings.env
            entries = yaml.safe_load("\n".join(self.content)) or {}
            docs = {Path(d).name.split("_", 1)[0]: d for d in _chapter_docs(env.app)}
            rows = []
            for number, entry in sorted(entries.items(), key=lambda kv: int(kv[0])):
                key = f"{int(number):02d}"
                title = html.escape(entry["title"])
                if key in docs:
                    title = f'<a href="{docs[key]}.html">{title}</a>'
                else:
                    title += " <em>(in preparation)</em>"
                rows.append(
                    f"<tr><td>{int(number)}</td><td>{title}</td>"
                    f"<td>{html.escape(entry['proves'])}</td><td>{html.escape(entry['trains'])}</td></tr>"
                )
            table = (
                '<table class="table course-chapters"><thead><tr><th>#</th><th>chapter</th>'
                "<th>what it proves (and checks numerically)</th><th>what it trains</th></tr></thead><tbody>"
                + "".join(rows)
                + "</tbody></table>"
            )
            return [nodes.raw("", table, format="html")]

    app.add_directive("course-gallery", GalleryDirective)
    app.add_directive("course-chapters", ChaptersDirective)
    app.connect("builder-inited", _copy_mathjax)
    app.connect("build-finished", _write_assets)
    app.connect("html-page-context", _download_box)
    app.connect("html-page-context", _offline_scripts, priority=900)
    app.connect("config-inited", _default_mode)
    app.connect("env-get-outdated", lambda app, env, added, changed, removed: ["index"] if "index" in env.found_docs else [])
    app.add_css_file("course.css")
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}

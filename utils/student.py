"""Student copies of the chapters: every exercise solution becomes a stub.

Usage (``make student``)::

    python -m utils.student chapters student

A solution is a code cell tagged ``solution``. Its first line is a comment
``# Exercise N: title``; it holds imports and top-level functions. In the copy,
each function keeps its signature and docstring and its body becomes
``raise NotImplementedError("Exercise N: title")``; every other cell, the
exercise's check cell included, is kept. Outputs of solution cells are cleared.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import nbformat

__all__ = ["stub_solution", "export_notebook", "export_all"]


def stub_solution(source: str) -> str:
    """Turn a solution cell's source into a stub that keeps imports, signatures and docstrings.

    Args:
        source: the cell's Python source; its first line must be ``# Exercise N: title``.

    Returns:
        The stub's source.

    Raises:
        ValueError: if the first line is not an ``# Exercise`` comment, the cell holds
            a top-level statement other than an import or a function definition (it
            would be lost in the stub), or no function definition.
    """
    lines = source.strip().splitlines()
    if not lines or not lines[0].startswith("# Exercise"):
        raise ValueError(f"a solution cell must start with '# Exercise N: title', got {lines[:1]}")
    title = lines[0].lstrip("# ").strip()
    tree = ast.parse(source)
    imports: list[str] = []
    functions: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(ast.get_source_segment(source, node))
        elif isinstance(node, ast.FunctionDef):
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            header = source.splitlines()[first - 1 : node.body[0].lineno - 1]
            indent = " " * node.body[0].col_offset
            body = []
            if ast.get_docstring(node, clean=False) is not None:
                # the docstring exactly as written: its prefix (r, u) and its quotes, so that
                # a raw docstring with \frac stays a backslash and not a form feed
                body.append(indent + ast.get_source_segment(source, node.body[0]))
            body += [f"{indent}# Your code here.", f"{indent}raise NotImplementedError({title!r})"]
            functions.append("\n".join(header + body))
        else:
            statement = (ast.get_source_segment(source, node) or "").splitlines()[0]
            raise ValueError(
                f"solution cell {title!r}, line {node.lineno}: only imports and function definitions may stand "
                f"at the top level (the stub would drop it), got {statement!r}"
            )
    if not functions:
        raise ValueError(f"solution cell {title!r} defines no function to stub")
    head = "\n".join([lines[0], *imports])
    return "\n\n\n".join([head, *functions]) + "\n"


def export_notebook(src: Path, dst: Path) -> int:
    """Write ``dst``, a copy of notebook ``src`` with every solution stubbed; return how many."""
    nb = nbformat.read(src, as_version=4)
    n = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and "solution" in cell.metadata.get("tags", []):
            cell.source = stub_solution(cell.source)
            cell.outputs = []
            cell.execution_count = None
            cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t not in ("solution", "hide-input", "remove-input")]
            n += 1
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dst)
    return n


def export_all(src_dir: Path, dst_dir: Path) -> dict[str, int]:
    """Export every ``*.ipynb`` in ``src_dir`` to ``dst_dir``; return name -> number of stubs."""
    notebooks = sorted(Path(src_dir).glob("*.ipynb"))
    if not notebooks:
        raise ValueError(f"no notebooks in {src_dir}")
    return {nb.name: export_notebook(nb, Path(dst_dir) / nb.name) for nb in notebooks}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m utils.student SOURCE_DIR DEST_DIR")
    for name, n in export_all(Path(sys.argv[1]), Path(sys.argv[2])).items():
        print(f"{sys.argv[2]}/{name}: {n} exercise(s) stubbed")

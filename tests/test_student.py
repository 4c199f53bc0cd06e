"""make student: every solution becomes a stub that raises, every check cell stays."""

from pathlib import Path

import nbformat
import pytest

from utils.student import export_all, stub_solution

CHAPTERS = Path(__file__).resolve().parent.parent / "chapters"


def test_export_stubs_every_solution_and_keeps_every_check(tmp_path):
    counts = export_all(CHAPTERS, tmp_path)
    assert counts, "no chapters found"
    for name, n_stubs in counts.items():
        original = nbformat.read(CHAPTERS / name, as_version=4)
        student = nbformat.read(tmp_path / name, as_version=4)
        assert len(original.cells) == len(student.cells)
        solutions = [i for i, c in enumerate(original.cells) if "solution" in c.metadata.get("tags", [])]
        assert n_stubs == len(solutions) >= 2, f"{name}: {len(solutions)} exercises, the conventions ask for 2-4"
        for i, (a, b) in enumerate(zip(original.cells, student.cells)):
            if i in solutions:
                assert "NotImplementedError" in b.source and b.outputs == []
                namespace: dict = {}
                exec(compile(b.source, f"{name}[{i}]", "exec"), namespace)  # the stub defines its functions...
                functions = [v for k, v in namespace.items() if callable(v) and getattr(v, "__module__", None) is None and not k.startswith("__")]
                assert functions, f"{name} cell {i}: the stub defines no function"
                for f in functions:  # ...and each raises when called
                    with pytest.raises(NotImplementedError, match="Exercise"):
                        f(*([None] * f.__code__.co_argcount))
                body_lines = {ln.strip() for ln in a.source.splitlines()[1:] if ln.strip() and not ln.strip().startswith(("def ", '"""', "import", "from"))}
                assert not body_lines & {ln.strip() for ln in b.source.splitlines()}, f"{name} cell {i}: solution lines leaked"
            else:
                assert a.source == b.source, f"{name} cell {i} changed"


def test_stub_solution_rejects_cells_without_header_or_function():
    with pytest.raises(ValueError, match="# Exercise"):
        stub_solution("def f():\n    return 1\n")
    with pytest.raises(ValueError, match="no function"):
        stub_solution("# Exercise 1: x\nimport torch\n")


def test_stub_keeps_the_docstring_as_written():
    source = (
        "# Exercise 2: a raw docstring\n"
        "def f(x):\n"
        '    r"""Return \\frac{x}{2} (a raw docstring: \\f must stay a backslash and an f).\n'
        "\n"
        "    Args:\n"
        "        x: a number.\n"
        '    """\n'
        "    return x / 2\n"
        "\n"
        "\n"
        "def g():\n"
        "    \'\'\'Single quotes, kept.\'\'\'\n"
        "    return 1\n"
    )
    stub = stub_solution(source)
    assert 'r"""Return \\frac{x}{2}' in stub and "\'\'\'Single quotes, kept.\'\'\'" in stub
    namespace: dict = {}
    exec(compile(stub, "stub", "exec"), namespace)
    assert namespace["f"].__doc__.startswith("Return \\frac{x}{2}")
    assert "\f" not in namespace["f"].__doc__
    assert "Args:\n        x: a number." in namespace["f"].__doc__
    assert namespace["g"].__doc__ == "Single quotes, kept."
    assert "return x / 2" not in stub


@pytest.mark.parametrize(
    "statement",
    ["SCALE = 2.0", "print('hello')", "class Model:\n    pass", "for i in range(3):\n    pass", "x: int = 1"],
)
def test_stub_rejects_top_level_statements_it_would_drop(statement):
    source = f"# Exercise 3: t\nimport torch\n{statement}\n\n\ndef f():\n    return 1\n"
    with pytest.raises(ValueError, match="only imports and function definitions"):
        stub_solution(source)

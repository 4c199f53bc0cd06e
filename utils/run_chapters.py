"""The chapter runner: execute chapters headlessly under given seeds, profile and device.

Usage (from the repository root)::

    python -m utils.run_chapters chapters/07_*.ipynb --seeds 0-9 --jobs 2
    python -m utils.run_chapters chapters/*.ipynb --profile full --device cuda --jobs 4

Each (chapter, seed) pair runs in a fresh kernel through nbclient, with ``COURSE_SEED``,
``COURSE_PROFILE``, ``COURSE_DEVICE`` and ``COURSE_THREADS`` set, one thread per job and
``--jobs`` jobs at once. Every cell runs even after a failure, so one run lists every failing
cell with its exception. The runner also reads the value of each top-level ``assert a <op> b``
(the two sides are evaluated once more right after their cell, when they are plain reads of
variables; anything that could draw random numbers is left alone) and prints, per assert, the
worst value over the seeds against its threshold: the table a margin is set from.

It writes ``report.json`` and ``report.md`` (chapter x setting: pass/fail, wall time, peak GPU
memory, failing cells, the assert table) into ``--out`` (default ``_build/runs``), prints the
Markdown table and the line ``N passed, N failed``, and exits 1 when any run failed.

Headless stall: :func:`patch_kernel_channels` (applied here and in the site build) bounds each
wait for a kernel message to one second at a time, see its docstring.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

__all__ = ["patch_kernel_channels", "parse_seeds", "assert_probes", "run_chapter", "worst_values", "main"]

PROBE = "__COURSE_PROBE__"
GPU = "__COURSE_GPU__"
SAFE_CALLS = {"abs", "float", "int", "min", "max", "len", "round", "sum", "bool"}
SAFE_METHODS = {"item", "mean", "median", "max", "min", "sum", "abs", "std", "float", "tolist", "log", "exp", "sqrt"}
SAFE_MODULES = {"np", "math", "torch"}
OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def patch_kernel_channels(slice_s: float = 1.0) -> None:
    """Make every asynchronous wait for a kernel message poll in slices of ``slice_s`` seconds.

    The cause of the headless stall (chapters idle for exactly the cell timeout after a
    ``widgets.interact`` cell under nbclient, which ``jupyter-book`` and ``nbconvert --execute``
    use): nbclient waits for a cell's ``execute_reply`` with one ``socket.poll(timeout)`` on the
    shell channel (``jupyter_client.channels.AsyncZMQSocketChannel.get_msg``). pyzmq's asyncio
    poll is woken by the socket's edge-triggered file descriptor; with a burst of widget comm
    messages on the other channel (tqdm's widget progress bars, then interact's Output widget)
    that wake-up is sometimes lost, and the poll returns only when its timeout fires, at which
    point pyzmq's final ``poll(0)`` finds the reply that had been waiting all along. Measured on
    the course's 2-core machine with a second core busy: 1 run in 16 of a four-cell reproducer
    waited the full 20 s timeout on the shell socket and then went on without an error.

    The fix waits in short slices: each new poll first checks the socket's events, so a lost
    wake-up costs at most ``slice_s`` seconds instead of the whole timeout. Idempotent.

    Args:
        slice_s: the longest single poll, in seconds (positive).

    Raises:
        ValueError: if ``slice_s`` is not positive.
    """
    if not slice_s > 0:
        raise ValueError(f"slice_s must be positive, got {slice_s!r}")
    from jupyter_client import channels

    cls = channels.AsyncZMQSocketChannel
    if getattr(cls.get_msg, "_course_sliced", False):
        return
    unsliced = cls.get_msg

    async def get_msg(self, timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = slice_s if deadline is None else min(slice_s, deadline - time.monotonic())
            if left <= 0 or await self.socket.poll(int(left * 1000)):
                return await unsliced(self, 0)  # raises queue.Empty when nothing is there

    get_msg._course_sliced = True
    get_msg.__doc__ = unsliced.__doc__
    cls.get_msg = get_msg


def parse_seeds(text: str) -> list[int]:
    """Seeds from ``"0-9"``, ``"1"`` or ``"0,3,5-7"``.

    Raises:
        ValueError: for anything but non-negative integers and ranges.
    """
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise ValueError(f"seeds must look like 0-9 or 0,3,5-7, got {text!r}")
        seeds.extend(range(int(lo), int(hi or lo) + 1))
    return seeds


def _safe(node: ast.AST) -> bool:
    """Whether an expression only reads values (no call that could draw random numbers)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            f = sub.func
            ok = (isinstance(f, ast.Name) and f.id in SAFE_CALLS) or (
                isinstance(f, ast.Attribute)
                and (f.attr in SAFE_METHODS or (isinstance(f.value, ast.Name) and f.value.id in SAFE_MODULES)))
            if not ok:
                return False
        elif isinstance(sub, (ast.Lambda, ast.NamedExpr, ast.Await, ast.Yield, ast.comprehension)):
            return False
    return True


def assert_probes(source: str) -> list[tuple[str, str, str, str]]:
    """The comparisons of a cell's top-level asserts whose two sides can be read again safely.

    Args:
        source: a code cell's source.

    Returns:
        ``(text, left, op, right)`` per comparison (a chained ``a < b < c`` gives two, so does
        ``a < b and c < d``, and a
        constant on the left is moved to the right: ``0.5 < r`` reads ``r > 0.5``), in order;
        empty when the cell does not parse (IPython magics) or has no such assert.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    tests = [s.test for s in tree.body if isinstance(s, ast.Assert)]
    while any(isinstance(t, ast.BoolOp) and isinstance(t.op, ast.And) for t in tests):  # assert a > b and c < d
        tests = [v for t in tests for v in (t.values if isinstance(t, ast.BoolOp) and isinstance(t.op, ast.And) else [t])]
    for test in tests:
        if not isinstance(test, ast.Compare):
            continue
        sides = [test.left, *test.comparators]
        for a, op, b in zip(sides, test.ops, sides[1:]):
            if type(op) in OPS and _safe(a) and _safe(b):
                op = OPS[type(op)]
                if isinstance(a, ast.Constant) and not isinstance(b, ast.Constant):  # 0.5 < ratio: read as ratio > 0.5
                    a, b, op = b, a, FLIP[op]
                left, right = ast.unparse(a), ast.unparse(b)
                found.append((f"{left} {op} {right}", left, op, right))
    return found


def _probe_cell(index: int, probes: list[tuple[str, str, str, str]]) -> str:
    """Code that prints the current values of the probes' two sides as one marked JSON line."""
    items = ", ".join(f"({t!r}, {op!r}, lambda: ({a}), lambda: ({b}))" for t, a, op, b in probes)
    return (
        "def __course_probe():\n"
        "    import json\n"
        "    out = []\n"
        f"    for text, op, a, b in [{items}]:\n"
        "        try:\n"
        "            out.append([text, op, float(a()), float(b())])\n"
        "        except Exception:\n"
        "            out.append([text, op, None, None])\n"
        f"    print({PROBE!r} + json.dumps([{index}, out]))\n"
        "__course_probe(); del __course_probe\n")


GPU_CELL = (
    "import sys as __s, json as __j\n"
    "__t = __s.modules.get('torch')\n"
    "print(%r + __j.dumps(__t.cuda.max_memory_allocated() / 2**20 "
    "if __t is not None and __t.cuda.is_available() and __t.cuda.is_initialized() else None))\n" % GPU)


def run_chapter(path: str, seed: int, profile: str, device: str, threads: int, timeout: int,
                out_dir: str, store: bool = False) -> dict:
    """Execute one chapter in a fresh kernel under the given settings; see the module docstring.

    The executed copy (without the runner's probe cells) goes to ``out_dir``; with ``store``, a run
    that passed is also written back over ``path`` (how a chapter's outputs are re-stored).

    Returns:
        A dict: chapter, seed, profile, device, ok, seconds, gpu_peak_mib, errors (cell index in
        the notebook, counting every cell from 0, exception name and value) and asserts (cell,
        text, op, left, right).
    """
    import nbformat
    from nbclient import NotebookClient

    patch_kernel_channels()
    env = dict(os.environ, COURSE_SEED=str(seed), COURSE_PROFILE=profile, COURSE_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    if device:
        env["COURSE_DEVICE"] = device  # the kernel's environment only: the caller's stays as it is
    nb = nbformat.read(path, as_version=4)
    cells, origin = [], []  # executed cells, and the index of each in the original notebook (None: added)
    for i, cell in enumerate(nb.cells):
        cells.append(cell)
        origin.append(i)
        probes = assert_probes(cell.source) if cell.cell_type == "code" else []
        if probes:
            cells.append(nbformat.v4.new_code_cell(_probe_cell(i, probes)))
            origin.append(None)
    cells.append(nbformat.v4.new_code_cell(GPU_CELL))
    origin.append(None)
    nb.cells = cells
    client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).parent)}})
    start = time.monotonic()
    fatal = None
    try:
        client.execute(env=env)
    except Exception as err:  # a dead kernel or a timeout: the run fails, the report says why
        fatal = f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"
    seconds = time.monotonic() - start
    errors, asserts, gpu = [], [], None
    for cell, i in zip(nb.cells, origin):
        for output in cell.get("outputs", []):
            text = output.get("text", "") if output.get("output_type") == "stream" else ""
            if output.get("output_type") == "error" and i is not None:
                errors.append({"cell": i, "ename": output["ename"], "evalue": output["evalue"][:500]})
            for line in text.splitlines():
                if line.startswith(PROBE):
                    index, values = json.loads(line[len(PROBE):])
                    asserts += [{"cell": index, "text": t, "op": op, "left": a, "right": b} for t, op, a, b in values]
                elif line.startswith(GPU):
                    gpu = json.loads(line[len(GPU):])
    if fatal:
        errors.append({"cell": None, "ename": "run", "evalue": fatal})
    name = Path(path).stem
    nb.cells = [c for c, i in zip(nb.cells, origin) if i is not None]
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, Path(out_dir) / f"{name}.seed{seed}.{profile}.ipynb")
    if store and not errors:
        nbformat.write(nb, path)
    return {"chapter": name, "seed": seed, "profile": profile, "device": device or "default",
            "ok": not errors, "seconds": round(seconds, 1), "gpu_peak_mib": gpu, "errors": errors,
            "asserts": asserts}


def worst_values(runs: list[dict]) -> list[dict]:
    """Per chapter and assert, the worst value over the runs against its threshold.

    Worst means the smallest ``left - right`` for ``>``/``>=`` and the largest for ``<``/``<=``
    (for ``==``/``!=`` the spread of ``left`` is reported). Asserts whose sides could not be
    read in some run count only the runs that could.

    Returns:
        Dicts: chapter, cell, text, op, runs, worst_left, worst_right, worst_seed, min_left, max_left.
    """
    groups: dict[tuple, list] = {}
    for run in runs:
        for a in run["asserts"]:
            if a["left"] is not None:
                groups.setdefault((run["chapter"], a["cell"], a["text"], a["op"]), []).append((run["seed"], a))
    table = []
    for (chapter, cell, text, op), items in sorted(groups.items()):
        sign = {">": 1, ">=": 1, "<": -1, "<=": -1}.get(op, 0)
        seed, w = min(items, key=lambda sa: sign * (sa[1]["left"] - sa[1]["right"]))
        lefts = [a["left"] for _, a in items]
        table.append({"chapter": chapter, "cell": cell, "text": text, "op": op, "runs": len(items),
                      "worst_left": w["left"], "worst_right": w["right"], "worst_seed": seed,
                      "min_left": min(lefts), "max_left": max(lefts)})
    return table


def _g(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def _markdown(runs: list[dict], table: list[dict]) -> str:
    lines = ["| chapter | seed | profile | device | result | seconds | GPU peak (MiB) | failing cells |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in runs:
        failing = "; ".join(f"cell {e['cell']}: {e['ename']}: {e['evalue'][:120]}" for e in r["errors"])
        lines.append(f"| {r['chapter']} | {r['seed']} | {r['profile']} | {r['device']} | "
                     f"{'pass' if r['ok'] else 'FAIL'} | {r['seconds']} | {_g(r['gpu_peak_mib'])} | {failing} |")
    lines += ["", "| chapter | cell | assert | runs | worst left | threshold | worst seed | left range |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for t in table:
        text = t["text"].replace("|", "\\|")
        lines.append(f"| {t['chapter']} | {t['cell']} | `{text}` | {t['runs']} | {_g(t['worst_left'])} | "
                     f"{t['op']} {_g(t['worst_right'])} | {t['worst_seed']} | {_g(t['min_left'])} to {_g(t['max_left'])} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """The command line; see the module docstring. Returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m utils.run_chapters", description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="+", help="notebooks to run")
    parser.add_argument("--seeds", default="0", help="COURSE_SEED values, e.g. 0-9 or 0,3 (default 0)")
    parser.add_argument("--profile", default="quick", choices=["quick", "full"])
    parser.add_argument("--device", default="", help="COURSE_DEVICE (default: the course's choice)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="COURSE_THREADS per run (default 1)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell (default 900)")
    parser.add_argument("--out", default="_build/runs", help="where the report and executed copies go")
    parser.add_argument("--store", action="store_true", help="write each passing run back into its notebook (one seed)")
    args = parser.parse_args(argv)
    for p in args.chapters:
        if not Path(p).is_file():
            parser.error(f"no such notebook: {p}")
    if args.jobs < 1 or args.threads < 1:
        parser.error("--jobs and --threads must be positive")
    seeds = parse_seeds(args.seeds)
    if args.store and len(seeds) != 1:
        parser.error("--store takes exactly one seed")
    jobs = [(p, s) for s in seeds for p in sorted(args.chapters)]
    runs = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_chapter, p, s, args.profile, args.device, args.threads, args.timeout, args.out,
                               args.store) for p, s in jobs]
        for f in futures:
            run = f.result()
            runs.append(run)
            print(f"{run['chapter']} seed {run['seed']}: {'pass' if run['ok'] else 'FAIL'} in {run['seconds']} s"
                  + "".join(f"\n  cell {e['cell']}: {e['ename']}: {e['evalue'][:300]}" for e in run["errors"]),
                  flush=True)
    table = worst_values(runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps({"runs": runs, "asserts": table}, indent=1))
    md = _markdown(runs, table)
    (out / "report.md").write_text(md)
    print(md)
    failed = sum(not r["ok"] for r in runs)
    print(f"{len(runs) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

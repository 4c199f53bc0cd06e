"""The chapter runner (utils/run_chapters.py) and the fix for the headless stall after widget cells."""

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from queue import Empty

import nbformat
import pytest
from jupyter_client import channels

from utils import run_chapters
from utils.run_chapters import assert_probes, parse_seeds, patch_kernel_channels, worst_values

ROOT = Path(__file__).resolve().parents[1]


def test_parse_seeds():
    assert parse_seeds("0-9") == list(range(10))
    assert parse_seeds("1") == [1]
    assert parse_seeds("0,3,5-7") == [0, 3, 5, 6, 7]
    for bad in ("", "a", "-1", "1-b", "0.5"):
        with pytest.raises(ValueError, match="seeds"):
            parse_seeds(bad)


def test_assert_probes_reads_plain_comparisons_and_splits_chains():
    src = "x = 1\nassert x or y\nassert acc > 0.5 * base\nassert lo <= abs(v.mean().item()) < hi  # note\n"
    assert assert_probes("assert 0.5 < ratio < 1.1") == [("ratio > 0.5", "ratio", ">", "0.5"), ("ratio < 1.1", "ratio", "<", "1.1")]
    assert assert_probes("assert a >= 3 and (b < c and ok)") == [("a >= 3", "a", ">=", "3"), ("b < c", "b", "<", "c")]
    assert assert_probes("assert a >= 3 or b < c") == []  # neither side must hold alone
    assert assert_probes(src) == [
        ("acc > 0.5 * base", "acc", ">", "0.5 * base"),
        ("lo <= abs(v.mean().item())", "lo", "<=", "abs(v.mean().item())"),
        ("abs(v.mean().item()) < hi", "abs(v.mean().item())", "<", "hi"),
    ]


def test_assert_probes_leaves_alone_what_could_draw_random_numbers():
    # a call to anything but a plain reader could consume the generator and change later cells
    assert assert_probes("assert model.sample(10).mean() > 0\nassert train(net) < 1\n") == []
    assert assert_probes("assert f(lambda: 1) > 0\n") == []
    assert assert_probes("for a in b:\n    assert a > 0\n") == []  # not top level: no value afterwards
    assert assert_probes("%time x = 1\n") == []  # IPython magics do not parse


def test_probe_cell_prints_the_two_sides():
    probes = assert_probes("assert acc > 0.5 * base\nassert missing < 1\n")
    ns = {"acc": 0.8, "base": 1.0}
    code = run_chapters._probe_cell(7, probes)
    from contextlib import redirect_stdout
    from io import StringIO

    out = StringIO()
    with redirect_stdout(out):
        exec(code, ns)
    line = out.getvalue().strip()
    assert line.startswith(run_chapters.PROBE)
    assert line[len(run_chapters.PROBE):] == '[7, [["acc > 0.5 * base", ">", 0.8, 0.5], ["missing < 1", "<", null, null]]]'


def test_worst_values_takes_the_smallest_margin_per_direction():
    def run(seed, left_ge, left_le):
        return {"chapter": "c", "seed": seed, "asserts": [
            {"cell": 1, "text": "a >= 3", "op": ">=", "left": left_ge, "right": 3.0},
            {"cell": 2, "text": "b < 0.1", "op": "<", "left": left_le, "right": 0.1},
            {"cell": 3, "text": "c < 1", "op": "<", "left": None, "right": None}]}

    table = worst_values([run(0, 8.0, 0.01), run(1, 4.0, 0.05), run(2, 6.0, 0.02)])
    assert [(t["cell"], t["worst_left"], t["worst_seed"], t["runs"]) for t in table] == [(1, 4.0, 1, 3), (2, 0.05, 1, 3)]
    assert (table[0]["min_left"], table[0]["max_left"]) == (4.0, 8.0)


class LostWakeUpSocket:
    """A socket whose asynchronous poll misses the wake-up: as pyzmq's does, it returns only at
    its timeout, then finds the message with a final poll(0)."""

    def __init__(self, ready_after):
        self.ready_at = time.monotonic() + ready_after

    async def poll(self, timeout_ms=None, flags=None):
        if timeout_ms:
            await asyncio.sleep(timeout_ms / 1000)
        return int(time.monotonic() >= self.ready_at)


def _channel(socket):
    chan = channels.AsyncZMQSocketChannel.__new__(channels.AsyncZMQSocketChannel)
    chan.socket = socket

    async def recv(**kwargs):
        return {"msg_type": "execute_reply"}

    chan._recv = recv
    return chan


def test_sliced_wait_bounds_a_lost_wake_up(monkeypatch):
    monkeypatch.setattr(channels.AsyncZMQSocketChannel, "get_msg", channels.AsyncZMQSocketChannel.get_msg)
    chan = _channel(LostWakeUpSocket(ready_after=0.05))
    start = time.monotonic()
    asyncio.run(chan.get_msg(timeout=3))  # unpatched: the whole 3 s, as in the stall
    assert time.monotonic() - start > 2.9
    patch_kernel_channels(slice_s=0.2)
    patch_kernel_channels(slice_s=0.2)  # idempotent
    chan = _channel(LostWakeUpSocket(ready_after=0.05))
    start = time.monotonic()
    assert asyncio.run(chan.get_msg(timeout=3)) == {"msg_type": "execute_reply"}
    assert time.monotonic() - start < 0.5
    with pytest.raises(Empty):  # a real timeout still times out, on time
        start = time.monotonic()
        asyncio.run(_channel(LostWakeUpSocket(ready_after=60)).get_msg(timeout=0.5))
    assert 0.4 < time.monotonic() - start < 0.9
    with pytest.raises(ValueError, match="slice_s"):
        patch_kernel_channels(slice_s=0)


def test_the_site_build_installs_the_fix(monkeypatch):
    monkeypatch.setattr(channels.AsyncZMQSocketChannel, "get_msg", channels.AsyncZMQSocketChannel.get_msg)
    import utils.site

    class App:
        def __getattr__(self, name):
            return lambda *a, **k: None

    utils.site.setup(App())
    assert getattr(channels.AsyncZMQSocketChannel.get_msg, "_course_sliced", False)


WIDGET_CELLS = [
    "import time\nimport ipywidgets as widgets\nimport matplotlib.pyplot as plt\nimport numpy as np\nfrom tqdm.auto import tqdm",
    "for i in tqdm(range(100)):\n    time.sleep(0.005)\nfor i in tqdm(range(2000), mininterval=0.02):\n    sum(range(2000))",
    "def show(k):\n    fig, ax = plt.subplots(figsize=(2, 2), dpi=50)\n    ax.plot(np.arange(10) * k)\n    plt.show()\n    plt.close(fig)\n"
    "show(1)\nwidgets.interact(show, k=widgets.IntSlider(min=0, max=5, value=1));",
]


def test_widget_cells_never_stall_a_headless_run(tmp_path):
    """The reproducer of the stall (tqdm's widget bars, then an interact cell), eight times over in
    one notebook, executed by the runner in fresh processes three times with the second core busy.
    A stall lasts the cell timeout (60 s here); a run without one takes about 10 s."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(WIDGET_CELLS[0])]
    for _ in range(8):
        nb.cells += [nbformat.v4.new_code_cell(WIDGET_CELLS[1]), nbformat.v4.new_code_cell(WIDGET_CELLS[2]),
                     nbformat.v4.new_markdown_cell("text"), nbformat.v4.new_code_cell("print('after')")]
    path = tmp_path / "widgets.ipynb"
    nbformat.write(nb, path)
    load = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        for seed in range(3):
            result = subprocess.run(
                [sys.executable, "-m", "utils.run_chapters", str(path), "--seeds", str(seed), "--jobs", "1",
                 "--timeout", "60", "--out", str(tmp_path / "runs")],
                cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
            seconds = float(result.stdout.split(f"seed {seed}: pass in ")[1].split(" s")[0])
            assert seconds < 45, f"run {seed} took {seconds} s: a stall after a widget cell"
    finally:
        load.kill()


def test_runner_reports_failing_cells_and_values(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os\nseed = int(os.environ['COURSE_SEED'])"),
                nbformat.v4.new_markdown_cell("text"),
                nbformat.v4.new_code_cell("score = 10 - seed\nassert score >= 9"),
                nbformat.v4.new_code_cell("print('still runs')")]
    path = tmp_path / "toy.ipynb"
    nbformat.write(nb, path)
    before = dict(os.environ)
    ok = run_chapters.run_chapter(str(path), 0, "quick", "cpu", 1, 60, str(tmp_path / "runs"))
    bad = run_chapters.run_chapter(str(path), 2, "quick", "cpu", 1, 60, str(tmp_path / "runs"))
    assert dict(os.environ) == before  # the settings go to the kernel only (a leaked COURSE_SEED re-seeded later chapters)
    assert ok["ok"] and ok["errors"] == []
    assert not bad["ok"] and [(e["cell"], e["ename"]) for e in bad["errors"]] == [(2, "AssertionError")]
    assert [a["left"] for a in ok["asserts"] + bad["asserts"]] == [10.0, 8.0]
    executed = nbformat.read(tmp_path / "runs" / "toy.seed2.quick.ipynb", as_version=4)
    assert len(executed.cells) == 4 and "still runs" in executed.cells[3].outputs[0]["text"]
    # the command line: exit status 1 and the closing line
    result = subprocess.run([sys.executable, "-m", "utils.run_chapters", str(path), "--seeds", "0-2", "--jobs", "2",
                             "--out", str(tmp_path / "cli")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stdout.strip().splitlines()[-1] == "2 passed, 1 failed"
    assert "| toy | 2 | `score >= 9` | 3 | 8 | >= 9 | 2 | 8 to 10 |" in result.stdout

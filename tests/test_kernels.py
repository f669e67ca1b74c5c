"""The warm kernel batch workers use: same reports as a fresh kernel, no state carried between runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from workbench.errors import ReportError
from workbench.kernels import WarmKernel
from workbench.reports import render_report

pytestmark = pytest.mark.slow


def _kpis(path: Path) -> list[str]:
    return [n.get_text(strip=True) for n in BeautifulSoup(path.read_text(), "html.parser").select(".wb-kpi-value")]


def _notebook(path: Path, *codes: str) -> Path:
    book = nbformat.v4.new_notebook()
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("value = 0")
    params.metadata["tags"] = ["parameters"]
    book.cells = [params, *(nbformat.v4.new_code_cell(c) for c in codes)]
    nbformat.write(book, path)
    return path


@pytest.fixture
def kernel() -> WarmKernel:
    warm = WarmKernel()
    yield warm
    warm.shutdown()


def test_reports_in_a_warm_kernel_match_a_fresh_kernel(demo_url: str, tmp_path: Path, kernel: WarmKernel) -> None:
    for report in ("aging", "production", "recall"):
        warm = render_report(report, demo_url, tmp_path / "warm", cache_dir=tmp_path / "c", kernel=kernel)
        fresh = render_report(report, demo_url, tmp_path / "fresh", cache_dir=tmp_path / "c")
        assert _kpis(warm) == _kpis(fresh) != []
    assert kernel.starts == 1


def test_no_variable_survives_from_one_run_to_the_next(tmp_path: Path, kernel: WarmKernel) -> None:
    first = _notebook(tmp_path / "first.ipynb", "leftover = value * 2", "import os\nprint(os.getcwd())")
    second = _notebook(tmp_path / "second.ipynb", "assert 'leftover' not in globals(), 'state leaked'")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ran = kernel.execute(first, tmp_path / "a", {"value": 21}, "first")
    assert ran.cells[-1].outputs[0]["text"].strip() == str(tmp_path / "a")  # ran in its own folder
    assert not any("workbench-reset" in c.metadata.get("tags", []) for c in ran.cells)
    kernel.execute(second, tmp_path / "b", {}, "second")
    assert kernel.starts == 1


def test_a_failed_cell_is_one_error_and_a_dead_kernel_is_replaced(tmp_path: Path, kernel: WarmKernel) -> None:
    bad = _notebook(tmp_path / "bad.ipynb", "raise ValueError('no such clinic')")
    good = _notebook(tmp_path / "good.ipynb", "value + 1")
    with pytest.raises(ReportError, match="bad report failed: ValueError: no such clinic"):
        kernel.execute(bad, tmp_path, {}, "bad")
    kernel.execute(good, tmp_path, {"value": 1}, "good")
    process = kernel._manager().provisioner.process  # the kernel process dies between runs
    process.kill()
    process.wait()
    ran = kernel.execute(good, tmp_path, {"value": 2}, "good")
    assert ran.cells[-1].outputs[0]["data"]["text/plain"] == "3"
    assert kernel.starts == 3  # the first, after the failed run, after the death


def test_report_kernels_run_numpy_without_huge_page_advice(tmp_path: Path, kernel: WarmKernel) -> None:
    probe = "import workbench, numpy\nprint(numpy._core.multiarray._get_madvise_hugepage())"
    ran = kernel.execute(_notebook(tmp_path / "probe.ipynb", probe), tmp_path, {}, "probe")
    assert ran.cells[-1].outputs[0]["text"].strip() == "False"
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    for given, advised in ((None, "False"), ("1", "True")):  # a value the user set is kept
        shown = subprocess.run(
            [sys.executable, "-c", probe],
            env=env if given is None else {**env, "NUMPY_MADVISE_HUGEPAGE": given},
            capture_output=True,
            text=True,
            check=True,
        )
        assert shown.stdout.strip() == advised


def test_what_a_kernel_prints_to_stderr_stays_off_the_users_terminal(
    tmp_path: Path, kernel: WarmKernel, capfd: pytest.CaptureFixture[str]
) -> None:
    """A kernel's own stderr (libzmq's assertion at exit, seen once in CI, broke a one-line error) is not
    inherited: the error the user reads is the only line, in a fresh kernel and in a warm one."""
    from workbench.reports import _execute

    noisy = _notebook(
        tmp_path / "noisy.ipynb",
        "import os\nos.write(2, b'kernel noise on fd 2\\n')",
        "raise ValueError('no such clinic')",
    )
    with pytest.raises(ReportError, match="no such clinic"):
        _execute(noisy, tmp_path, {}, None, "noisy")
    with pytest.raises(ReportError, match="no such clinic"):
        kernel.execute(noisy, tmp_path, {}, "noisy")
    assert "kernel noise" not in capfd.readouterr().err


def test_a_report_kernel_shows_a_chart_without_importing_nbformat(tmp_path: Path, kernel: WarmKernel) -> None:
    """A figure a report cell shows carries plotly's mimetype (JupyterLab) and the page's HTML (the export), and
    showing it imports neither plotly's renderers nor nbformat and jsonschema (0.2 s of every report)."""
    chart = "from workbench import notebook as nb\nimport plotly.graph_objects as go\n"
    chart += "nb.setup()\ngo.Figure(go.Bar(y=[7]))"
    loaded = "import sys\nprint([m for m in ('plotly.io._renderers', 'nbformat', 'jsonschema') if m in sys.modules])"
    ran = kernel.execute(_notebook(tmp_path / "chart.ipynb", chart, loaded), tmp_path, {}, "chart")
    shown = ran.cells[-2].outputs[0]["data"]
    assert shown["application/vnd.plotly.v1+json"]["data"] == [{"type": "bar", "y": [7]}]
    assert shown["text/html"].startswith('<div class="wb-figure">') and "Plotly.newPlot" in shown["text/html"]
    assert ran.cells[-1].outputs[0]["text"].strip() == "[]"

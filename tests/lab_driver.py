"""Driving notebooks in real JupyterLab from headless Chromium (playwright): used by tests/test_lab.py and
benchmarks/lab.py.

``running_lab`` starts JupyterLab on 127.0.0.1 (a free port, no token) over copies of the notebooks pointed
at one practice with a warm cache. Its kernel spec "slow" delays every message the kernel sends to the
browser's widgets by a varying 20-250 ms, so that checks also hold when kernel and browser are far out of step.
``Notebook`` opens one notebook in a page, runs it and reads what the page shows.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

import workbench
from workbench.reports import resource_dir

SLOW_STARTUP = """
import random, time
import ipykernel.comm.comm as kernel_comm

_publish = kernel_comm.BaseComm.publish_msg


def _late_publish(self, *args, **kwargs):  # every widget message leaves the kernel late, by a varying delay
    time.sleep(random.uniform(0.02, 0.25))
    return _publish(self, *args, **kwargs)


kernel_comm.BaseComm.publish_msg = _late_publish
"""
WAIT_MS = 120_000
STDERR = ", ".join(
    f"{kind}[data-mime-type='application/vnd.jupyter.{mime}']"
    for kind in (".jp-OutputArea-output", ".jp-RenderedText")
    for mime in ("stderr", "error")
)
# A chart is drawn when it has at least one trace with marks (bars or points) on it.
CHARTS = """() => Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .js-plotly-plot'))
  .map(gd => ({traces: (gd.data || []).length,
               marks: gd.querySelectorAll('.bars .point path, .scatterlayer .points path').length,
               drawn: Number(gd.dataset.drawn || 0)}))"""


@dataclass
class Lab:
    url: str
    root: Path
    log: Path
    timings: dict[str, float] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _copy_notebook(name: str, root: Path, source: str, kernel: str = "python3", as_name: str | None = None) -> None:
    book = nbformat.read(resource_dir("notebooks") / f"{name}.ipynb", as_version=4)
    params = next(c for c in book.cells if "parameters" in c.metadata.get("tags", []))
    params.source = params.source.replace('source = "demo:"', f"source = {source!r}")
    book.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nbformat.write(book, root / f"{as_name or name}.ipynb")


@contextmanager
def running_lab(base: Path, source: str, notebooks: list[tuple[str, str, str]]) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 over copies of ``notebooks`` ((notebook, kernel spec, file name)) pointed at
    ``source``, with the cache warm, a "slow" kernel spec beside "python3", and no token; stopped on exit."""
    root, cache, home = base / "notebooks", base / "cache", base / "home"
    for folder in (root, cache, home):
        folder.mkdir(parents=True, exist_ok=True)
    workbench.connect(source, cache_dir=cache).frames()  # a warm cache, as a consultant has after a refresh
    for name, kernel, as_name in notebooks:
        _copy_notebook(name, root, source, kernel=kernel, as_name=as_name)
    startup = home / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-slow.py").write_text(SLOW_STARTUP)
    spec = home / "share" / "kernels" / "slow"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    env = {"IPYTHONDIR": str(home / "ipython")}
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "slow", "language": "python", "env": env})
    )

    port = _free_port()
    server_env = {
        **os.environ,
        "WORKBENCH_CACHE_DIR": str(cache),
        "JUPYTER_PATH": str(home / "share"),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.token=",
        "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--ServerApp.root_dir={root}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")  # JupyterLab refuses root without it (CI runs as root)
    log = base / "lab.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=server_env, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.3)
        yield Lab(url, root, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


class Notebook:
    """One notebook open in JupyterLab, with the browser's console errors collected."""

    def __init__(self, browser: Any, lab: Lab, name: str) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.lab = lab
        self.page.goto(f"{lab.url}/lab/tree/{name}.ipynb?reset")  # ?reset: no windows restored from an earlier test
        self.page.wait_for_function(
            "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
            " const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;"
            " return k && k.status === 'idle' && k.connectionStatus === 'connected'; }",
            timeout=WAIT_MS,
        )

    def run_all(self) -> float:
        """Run All; the time at which it was asked."""
        started = time.monotonic()
        self.page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        return started

    def wait_until_idle(self) -> None:
        self.page.wait_for_function(
            "() => { const w = window.jupyterapp.shell.currentWidget;"
            " return w.sessionContext.session.kernel.status === 'idle' &&"
            " w.content.widgets.every(c => c.model.type !== 'code' || c.model.executionCount); }",
            timeout=WAIT_MS,
            polling=200,
        )

    def charts(self) -> list[dict[str, int]]:
        return list(self.page.evaluate(CHARTS))

    def wait_for_charts(self, count: int, since: float | None = None) -> float:
        """Wait until ``count`` charts are drawn with marks; seconds since ``since`` when the first was."""
        first = None
        deadline = time.monotonic() + WAIT_MS / 1000
        while time.monotonic() < deadline:
            drawn = [c for c in self.charts() if c["traces"] >= 1 and c["marks"] >= 1]
            if drawn and first is None:
                first = time.monotonic()
            if len(drawn) >= count:
                return (first or time.monotonic()) - (since or 0.0)
            time.sleep(0.05)
        raise AssertionError(f"charts not drawn: {self.charts()}\n{self.errors}")

    def error_outputs(self) -> list[str]:
        return list(
            self.page.eval_on_selector_all(
                STDERR,
                "els => els.map(e => e.textContent.slice(0, 300))",
            )
        )

    def close(self) -> None:
        """Close the page and shut its kernel down (the server stays for the next test)."""
        self.page.close()
        with urllib.request.urlopen(f"{self.lab.url}/api/kernels", timeout=10) as reply:
            kernels = json.load(reply)
        for kernel in kernels:
            request = urllib.request.Request(f"{self.lab.url}/api/kernels/{kernel['id']}", method="DELETE")
            urllib.request.urlopen(request, timeout=30).close()


def set_date(notebook: Notebook, index: int, value: str) -> None:
    """Type ``value`` (YYYY-MM-DD) into the page's ``index``-th date picker, as a person does."""
    picker = notebook.page.locator(".widget-datepicker input[type=date]").nth(index)
    picker.fill(value)
    picker.dispatch_event("change")


def click_bar(notebook: Notebook, index: int = 0, chart: int = 0) -> None:
    """Click the ``index``-th bar of the ``chart``-th chart as a person does: scrolled into view, in its middle
    (plotly takes the click on the layer over the bars, so the mouse goes to the bar's place)."""
    bar = notebook.page.locator(".wb-chart").nth(chart).locator(".bars .point path").nth(index)
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    assert box is not None
    notebook.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

"""A kernel kept warm across report runs, for batch workers.

Starting a kernel and importing pandas, plotly and ipywidgets costs 1.3–1.6 s per notebook, more than a
small practice's report itself. A batch worker keeps one kernel per thread and runs each report in it:
the notebook is parameterised as papermill does, the kernel's namespace is reset before every run (so
no report sees another's variables; imported modules stay loaded, which is the saving), and a kernel
that dies is replaced once.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from workbench.errors import ReportError

__all__ = ["WarmKernel", "quiet_kernel_manager", "warm_kernel"]

# Where a report kernel's own stderr goes: not the user's terminal or log, where the CLI promises one line per
# error. Cell errors and a kernel's death reach the user as messages; what a kernel prints on its way out
# (libzmq's "Assertion failed: pfd.revents & POLLIN" at exit, seen once in CI) does not belong there.
_KERNEL_STDERR = subprocess.DEVNULL


@functools.cache
def quiet_kernel_manager() -> type[Any]:
    """jupyter_client's AsyncKernelManager, its kernels started with stderr to ``_KERNEL_STDERR`` (for papermill's
    ``kernel_manager_class``)."""
    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            kw.setdefault("stderr", _KERNEL_STDERR)
            await super().start_kernel(**kw)

    return QuietKernelManager


RESET_TAG = "workbench-reset"


class WarmKernel:
    """One kernel process that runs report notebooks one after another."""

    def __init__(self, kernel_name: str = "python3") -> None:
        self.kernel_name = kernel_name
        self._km: Any = None
        self._sockets: str | None = None
        self.starts = 0  # kernels started (1 unless one died)

    def _manager(self) -> Any:
        if self._km is None or not self._km.is_alive():
            from jupyter_client.manager import KernelManager

            self.shutdown()
            # IPC sockets in a folder of our own: no TCP ports, so kernels started at the same moment by
            # other workers cannot race for the same port (a kernel bound elsewhere would never answer)
            self._sockets = tempfile.mkdtemp(prefix="wb-kernel-")
            self._km = KernelManager(kernel_name=self.kernel_name, transport="ipc", ip=str(Path(self._sockets) / "ipc"))
            self._km.start_kernel(
                extra_arguments=["--IPKernelApp.log_level=ERROR"], cwd=tempfile.gettempdir(), stderr=_KERNEL_STDERR
            )
            self.starts += 1
        return self._km

    def execute(self, notebook: Path, cwd: Path, parameters: dict[str, Any], report: str) -> Any:
        """Run ``notebook`` with ``parameters`` (injected as papermill does) in folder ``cwd``; the executed
        notebook (a NotebookNode)."""
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, DeadKernelError
        from papermill.iorw import load_notebook_node
        from papermill.parameterize import parameterize_notebook

        book = parameterize_notebook(load_notebook_node(str(notebook)), parameters, kernel_name=self.kernel_name)
        # first: into the run's folder, and a clean namespace; last: back to a folder that outlives the run
        enter = f"import os\nos.chdir({str(cwd)!r})\nget_ipython().run_line_magic('reset', '-f')"
        leave = f"import os\nos.chdir({tempfile.gettempdir()!r})"
        for index, code in ((0, enter), (len(book.cells) + 1, leave)):
            cell = nbformat.v4.new_code_cell(code)
            cell.metadata["tags"] = [RESET_TAG]
            book.cells.insert(index, cell)
        for attempt in (1, 2):
            client = NotebookClient(book, km=self._manager(), timeout=1800, allow_errors=False)
            try:
                client.execute()
                break
            except CellExecutionError as exc:
                self.shutdown()  # a run that stopped half way leaves no state (or folder) behind for the next
                raise ReportError(f"{report} report failed: {exc.ename}: {exc.evalue}") from None
            except (DeadKernelError, RuntimeError) as exc:  # died, or never answered at start-up
                self.shutdown()
                if attempt == 2:
                    raise ReportError(f"{report} report could not run: the kernel failed ({exc})") from None
        book.cells = [c for c in book.cells if RESET_TAG not in c.metadata.get("tags", [])]
        return book

    def shutdown(self) -> None:
        if self._km is not None:
            with contextlib.suppress(Exception):  # already gone
                self._km.shutdown_kernel(now=True)
            self._km = None
        if self._sockets is not None:
            shutil.rmtree(self._sockets, ignore_errors=True)
            self._sockets = None


_local = threading.local()
_all: list[WarmKernel] = []


def warm_kernel() -> WarmKernel:
    """This thread's warm kernel (started on first use, shut down when the process exits)."""
    kernel = getattr(_local, "kernel", None)
    if kernel is None:
        kernel = _local.kernel = WarmKernel()
        _all.append(kernel)
    return kernel


def _shutdown_all() -> None:
    for kernel in _all:
        kernel.shutdown()


atexit.register(_shutdown_all)
try:  # worker processes of a pool leave through multiprocessing, which skips atexit
    from multiprocessing.util import Finalize

    Finalize(None, _shutdown_all, exitpriority=10)
except ImportError:  # pragma: no cover
    pass

"""Run a report notebook with papermill and export it to dentist-facing HTML through our template."""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from workbench import __version__
from workbench.config import DEFAULT_BRAND_COLOR, cache_root, is_color
from workbench.errors import ReportError, UsageError, WorkbenchError
from workbench.files import folder, write_atomically
from workbench.formatting import long_date
from workbench.kernels import WarmKernel, quiet_kernel_manager
from workbench.parameters import parameter_defaults, typed_options
from workbench.periods import resolve_as_of, resolve_period
from workbench.plotlyjs import plotly_js
from workbench.practice import Practice, connect

__all__ = ["GROUP", "REPORTS", "ReportSpec", "render_group", "render_report", "resource_dir"]


@dataclass(frozen=True)
class ReportSpec:
    name: str
    notebook: str
    title: str
    dated: Literal["as_of", "period"]


REPORTS: dict[str, ReportSpec] = {
    spec.name: spec
    for spec in [
        ReportSpec("aging", "aging.ipynb", "Accounts Receivable Aging", "as_of"),
        ReportSpec("production", "production.ipynb", "Production & Income", "period"),
        ReportSpec("recall", "recall.ipynb", "Recall & Hygiene", "as_of"),
        ReportSpec("claims", "claims.ipynb", "Outstanding Insurance Claims", "as_of"),
        ReportSpec("treatment", "treatment.ipynb", "Unscheduled Treatment", "as_of"),
        ReportSpec("patients", "patients.ipynb", "New Patients & Referrals", "period"),
    ]
}


def resource_dir(kind: Literal["notebooks", "templates"]) -> Path:
    """Where the notebooks or templates are: inside an installed wheel, else the source checkout."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "_bundled" / kind, package.parent / kind):
        if candidate.is_dir():
            return candidate
    raise ReportError(f"cannot find the workbench {kind} directory (looked beside {package})")


def _spec(report: str) -> ReportSpec:
    try:
        return REPORTS[report]
    except KeyError:
        raise UsageError(f"unknown report {report!r}; choose from {', '.join(REPORTS)}") from None


def render_report(
    report: str,
    source: str,
    out_dir: str | Path,
    *,
    as_of: str | date | None = None,
    start: str | date | None = None,
    end: str | date | None = None,
    cache_dir: str | Path | None = None,
    title: str | None = None,
    brand_color: str = DEFAULT_BRAND_COLOR,
    logo: str | Path | None = None,
    kernel_name: str | None = None,
    redact: bool = False,
    keep_notebook: bool = False,
    kernel: WarmKernel | None = None,
    options: Sequence[str] = (),
) -> Path:
    """Execute one report for the practice at ``source`` and write ``<out_dir>/<report>.html``.

    Dates default to the practice's last day with data (the period to January 1 of that year).
    The parameters passed to the notebook hold no secret: only the source URL, dates and options.
    ``redact`` replaces patient names with stable pseudonyms and drops birthdates and contact details.
    ``logo`` is a PNG, JPEG or SVG file, or already a ``data:`` URI. ``keep_notebook`` also keeps the
    executed notebook as ``<out_dir>/<report>.ipynb``. ``kernel`` runs the notebook in a warm kernel
    (``workbench.kernels``) instead of a fresh one. ``options``: the report's own parameters as
    ``name=value`` (e.g. ``proc_lifo=true``, ``balances=owing``), checked and typed by ``workbench.parameters``.
    """
    spec = _spec(report)
    chosen = typed_options(report, parameter_defaults(resource_dir("notebooks") / spec.notebook), options)
    if not is_color(brand_color):
        raise UsageError(f"brand colour must look like {DEFAULT_BRAND_COLOR}, got {brand_color!r}")
    logo_uri = (
        logo if isinstance(logo, str) and logo.startswith("data:") else logo_data_uri(Path(logo)) if logo else None
    )
    practice = connect(source, cache_dir=cache_dir)
    manifest = practice.manifest  # extracts into the cache once, outside the kernel
    parameters: dict[str, Any] = {
        "source": source,
        "cache_dir": str(cache_root(cache_dir)),
        "redact": redact,
        "interactive": False,  # no controls: the report renders static
        **chosen,
    }
    if spec.dated == "as_of":
        day = resolve_as_of(as_of, practice.data_as_of)
        within_data(practice, day, day, "as-of date")
        parameters["as_of"] = day.isoformat()
        period_label, as_of_label = f"As of {long_date(day)}", long_date(day)
    else:
        period = resolve_period(start, end, practice.data_as_of)
        within_data(practice, period.start, period.end, "period")
        parameters.update(start=period.start.isoformat(), end=period.end.isoformat())
        period_label, as_of_label = period.label(), long_date(period.end)

    header = {
        "practice": practice.name,
        "title": title or spec.title,
        "period": period_label,
        "as_of": as_of_label,
        "system": manifest.system,
        "practice_source": manifest.source,
        "extracted_at": _stamp(manifest.extracted_at),
        "brand_color": brand_color,
        "logo": logo_uri,
    }
    return _render(spec, parameters, Path(out_dir), header, kernel, kernel_name, keep_notebook)


def _render(
    spec: ReportSpec,
    parameters: dict[str, Any],
    out: Path,
    header: Mapping[str, Any],
    kernel: WarmKernel | None,
    kernel_name: str | None = None,
    keep_notebook: bool = False,
) -> Path:
    """Execute ``spec``'s notebook with ``parameters`` (in ``kernel``, else a fresh one) and write
    ``<out>/<spec.name>.html``; ``header`` is what the page says it is of (practice, title, period, source)."""
    folder(out, "output folder")
    notebook = resource_dir("notebooks") / spec.notebook
    with tempfile.TemporaryDirectory(prefix="workbench-") as tmp:  # where the notebook runs
        if kernel is not None:
            book = kernel.execute(notebook, Path(tmp), parameters, spec.name)
        else:
            book = _execute(notebook, Path(tmp), parameters, kernel_name, spec.name)
    if keep_notebook:
        import nbformat

        write_atomically(out / spec.notebook, nbformat.writes(book))
    context = {
        **header,
        "version": __version__,
        "generated_at": datetime.now().astimezone().strftime("%B %d, %Y at %H:%M %Z").replace(" 0", " "),
    }
    return write_atomically(out / f"{spec.name}.html", export_html(book, context))


GROUP = ReportSpec("group", "group.ipynb", "Practice Group", "period")


def render_group(
    practices: str | Path | None,
    out_dir: str | Path,
    *,
    start: str | date | None = None,
    end: str | date | None = None,
    cache_dir: str | Path | None = None,
    failed: Mapping[str, str] | None = None,
    only: Sequence[str] | None = None,
    brand_color: str = DEFAULT_BRAND_COLOR,
    kernel: WarmKernel | None = None,
) -> Path:
    """The group report of a practices file (default: $WORKBENCH_PRACTICES or ./practices.toml): every
    practice's key figures side by side, against its targets and the group's median; writes
    ``<out_dir>/group.html``. ``failed`` names the practices whose run failed, with the one-line error (shown
    as failed, never as zeros); ``only``: just these practices of the file."""
    from workbench.groups import group
    from workbench.practices import default_practices_file

    path = Path(practices) if practices else default_practices_file()
    team = group(path, cache_dir, only)
    period = team.period(start, end)
    _not_future(period.end, "period")
    parameters: dict[str, Any] = {
        "practices": str(path.resolve()),
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "cache_dir": str(cache_root(cache_dir)),
        "failed": dict(failed or {}),
        "only": list(only or []),
    }
    header = {
        "practice": f"{len(team.names)} practices",
        "title": GROUP.title,
        "period": period.label(),
        "as_of": long_date(period.end),
        "system": ", ".join(team.names),
        "practice_source": str(path),
        "extracted_at": "by each practice's own refresh",
        "brand_color": brand_color,
        "logo": None,
    }
    return _render(GROUP, parameters, Path(out_dir), header, kernel)


def within_data(practice: Practice, first: date, last: date, what: str) -> None:
    """A report's dates must meet the practice's data: a period wholly before its first day with data, or
    any date after today, would render a report of zeros (or of everyone overdue) that looks real."""
    _not_future(last, what)
    dated = practice.column("procedures", "date").dropna()
    if len(dated) and last < dated.min().date():
        raise UsageError(f"the {what} ends {last}, before {practice.name}'s first day with data ({dated.min().date()})")


def _not_future(last: date, what: str) -> None:
    today = date.today()
    if last > today:
        raise UsageError(f"the {what} ends {last}, in the future (today is {today})")


def _execute(notebook: Path, cwd: Path, parameters: dict[str, Any], kernel_name: str | None, report: str) -> Any:
    """Run the notebook in a fresh kernel (papermill) in folder ``cwd``; the executed notebook, kept in memory
    (nothing is written between cells). A kernel that dies or fails to start (not a cell error) gets one more
    try: such failures are usually transient, and a scheduled run should not lose a report to one."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    for attempt in (1, 2):
        try:
            return papermill.execute_notebook(
                str(notebook),
                None,
                parameters=parameters,
                kernel_name=kernel_name,
                progress_bar=False,
                log_output=False,
                cwd=str(cwd),
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
                kernel_manager_class=quiet_kernel_manager(),
            )
        except PapermillExecutionError as exc:
            raise ReportError(f"{report} report failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}") from None
        except WorkbenchError:
            raise
        except Exception as exc:  # kernel start-up or death, missing kernel, I/O: one line for the user
            if attempt == 2:
                raise ReportError(f"{report} report could not run: {type(exc).__name__}: {exc}") from None
    raise AssertionError("unreachable")


def export_html(book: Any, context: Mapping[str, Any]) -> str:
    """An executed notebook (changed here) as one self-contained HTML page (no code, plotly.js embedded once)."""
    book.cells = [c for c in book.cells if c.cell_type != "code" or c.get("outputs")]
    book.metadata["title"] = f"{context['practice']} – {context['title']}"
    exporter = _report_exporter()(
        template_name="workbench",
        extra_template_basedirs=[str(resource_dir("templates"))],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    resources = {"workbench": {**context, "plotly_js": plotly_js()}}
    body, _ = exporter.from_notebook_node(book, resources=resources)
    return str(body)


def _report_exporter() -> type[Any]:
    """nbconvert's HTMLExporter without its last pass over the whole page with BeautifulSoup, which gives
    images alt text and notebook cells tab stops: a report has neither cells nor images without alt text, and
    on a page with thousands of table rows that pass took seconds (3.1 s of a 3 MB aging report's 5.5)."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class ReportExporter(HTMLExporter):
        def from_notebook_node(self, nb: Any, resources: Any = None, **kw: Any) -> Any:  # (html, resources)
            resources = self._init_resources(resources)
            self.register_filter("highlight_code", Highlight2HTML(pygments_lexer="python", parent=self))
            self.register_filter(
                "filter_data_type",
                WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources),
            )
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return html, resources

        def _create_environment(self) -> Any:
            environment = super()._create_environment()
            environment.bytecode_cache = _template_bytecode()
            return environment

    return ReportExporter


def _template_bytecode() -> Any:
    """Where the report templates, once compiled, are kept for the next export (a dozen templates compile in
    about 0.2 s); None (compile each time) where the cache folder cannot be written."""
    from jinja2 import FileSystemBytecodeCache  # writes each file whole, then renames it into place

    try:
        return FileSystemBytecodeCache(str(folder(cache_root() / "templates", "template cache")))
    except WorkbenchError:
        return None


LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}


def logo_data_uri(path: Path) -> str:
    """The practice's logo inlined into the page (a report loads nothing from elsewhere)."""
    kind = LOGO_TYPES.get(path.suffix.lower())
    if kind is None:
        raise UsageError(f"logo must be a PNG, JPEG or SVG file, got {path.name}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the logo {path}: {exc.strerror}") from None
    if len(data) > 500_000:
        raise UsageError(f"logo {path.name} is {len(data) // 1000} kB; keep it under 500 kB")
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def _stamp(iso: str) -> str:
    moment = datetime.fromisoformat(iso).astimezone()
    return moment.strftime("%B %d, %Y at %H:%M %Z").replace(" 0", " ")

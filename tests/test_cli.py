"""The command line: one line and exit code 2 for every mistake a user can make."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import workbench
from workbench import model
from workbench.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "aging", "--source", "odbc-magic://x"], "unknown source scheme 'odbc-magic:'; known schemes:"),
        (["report", "aging", "--source", "demo:", "--as-of", "2026-02-30"], "bad as-of date '2026-02-30'"),
        (
            ["report", "production", "--source", "demo:", "--start", "2026-10-01", "--end", "2026-01-01"],
            "start date 2026-10-01 is after end date 2026-01-01",
        ),
        (["report", "production", "--source", "demo:", "--end", "31.10.2026"], "bad end date '31.10.2026'"),
        (
            ["report", "aging", "--source", "opendental+sqlite:///no/such/file.db"],
            "no Open Dental database file at /no/such/file.db",
        ),
        (["report", "payroll", "--source", "demo:"], "unknown report 'payroll'; choose from aging, production, recall"),
        (["report", "aging"], "the aging report needs --source (a practice URL, e.g. demo:)"),
        (["report", "aging", "--source", "demo:?patients=lots"], "patients must be a whole number"),
        (["demo", "--end", "someday"], "bad end date 'someday'"),
        (["report", "aging", "--source", "demo:", "--color", "blue"], "brand colour must look like #0b5d8c"),
        (["report", "aging", "--source", "demo:", "--logo", "/no/such/logo.png"], "cannot read the logo"),
        (["frobnicate"], "No such command 'frobnicate'"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main([*argv, "--out", str(tmp_path)] if argv[0] == "report" and len(argv) > 2 else argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert not list(tmp_path.glob("*.html"))


def test_sources_lists_every_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    assert "demo:" in out and "opendental+sqlite:" in out


def test_refresh_off_a_terminal_prints_one_line(
    demo_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["refresh", "--source", demo_url, "--cache-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and "cached" in lines[0] and "procedures" not in lines[0]


def test_refresh_on_a_terminal_shows_a_bar_and_rows_per_table(demo_url: str, tmp_path: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "workbench", "refresh", "--source", demo_url, "--cache-dir", str(tmp_path)]
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    with subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, env=env) as child:
        os.close(follower)
        shown = b""
        with contextlib.suppress(OSError):  # the pty closes (EIO) when the child exits
            while chunk := os.read(leader, 4096):
                shown += chunk
    os.close(leader)
    assert child.returncode == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode())
    rows = workbench.connect(demo_url, cache_dir=tmp_path).manifest.rows
    for table, count in rows.items():
        assert re.search(rf"{table}\s+{count:,}\s+rows", text), table
    assert re.search(rf"tables\s.*\d+/{len(model.TABLES)}", text)  # the live bar: tables read of all
    assert "cached" in text


def test_demo_in_a_log_says_each_step_as_it_begins(tmp_path: Path) -> None:
    from workbench.demo import GENERATE_STEPS
    from workbench.reports import REPORTS

    command = [sys.executable, "-m", "workbench", "demo", "--patients", "60", "--years", "1", "--out", str(tmp_path)]
    env = {**os.environ, "WORKBENCH_CACHE_DIR": str(tmp_path / "cache")}
    ran = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr
    said = ran.stderr.splitlines()
    steps = [f"demo practice (60 patients × 1 years): {name} (at " for name in GENERATE_STEPS]
    steps += ["cache: extracting every table (at "] + [f"reports: {name} (at " for name in REPORTS]
    begun = [next(i for i, line in enumerate(said) if line.startswith(step)) for step in steps]
    assert begun == sorted(begun)  # one line per step, in the order the steps run
    assert said[-1].startswith("reports: done in ")
    assert [line.split()[0] for line in ran.stdout.splitlines()] == list(REPORTS)  # the paths, on stdout
    assert all((tmp_path / f"{name}.html").stat().st_size > 100_000 for name in REPORTS)


def test_report_end_to_end_through_the_installed_command(demo_url: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench",
            "report",
            "aging",
            "--source",
            demo_url,
            "--as-of",
            "2026-09-30",
            "--out",
            str(tmp_path / "out"),
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    html = tmp_path / "out" / "aging.html"
    assert done.stdout.strip() == str(html)
    assert "As of September 30, 2026" in html.read_text(encoding="utf-8")
    assert done.stderr == ""


def test_reconcile_reports_how_many_families_match(
    demo_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reconcile", "--source", demo_url, "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "As of 2026-10-31" in out and "families match to the cent" in out
    assert "AgingProcLifo off: credits to the oldest balance first (the office's mode)" in out
    found = re.search(r"([\d,]+) of ([\d,]+) families match", out)
    assert found is not None
    matched, total = (int(x.replace(",", "")) for x in found.groups())
    assert matched == total > 0


def test_reconcile_uses_the_offices_aging_mode(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil
    import sqlite3

    copy = Path(shutil.copy(demo_db, tmp_path / "od.db"))
    with sqlite3.connect(copy) as conn:  # the office turned AgingProcLifo on (its stored aging predates that)
        conn.execute("UPDATE preference SET ValueString = '1' WHERE PrefName = 'AgingProcLifo'")
    url = f"opendental+sqlite://{copy}"
    assert main(["reconcile", "--source", url, "--cache-dir", str(tmp_path / "c")]) == 0
    assert "AgingProcLifo on: adjustments on a procedure aged with it" in capsys.readouterr().out
    assert main(["reconcile", "--source", url, "--cache-dir", str(tmp_path / "c"), "--mode", "off"]) == 0
    out = capsys.readouterr().out
    assert "AgingProcLifo off" in out and "(as asked)" in out
    assert main(["reconcile", "--source", url, "--mode", "sometimes"]) == 2


def test_refresh_check_deletions_finds_a_row_deleted_within_the_hour(demo_db: Path, tmp_path: Path) -> None:
    import shutil
    import sqlite3

    db = Path(shutil.copy(demo_db, tmp_path / "od.db"))
    url = f"opendental+sqlite://{db}"
    args = ["refresh", "--source", url, "--cache-dir", str(tmp_path / "cache")]
    assert main(args) == 0
    rows = workbench.connect(url, cache_dir=tmp_path / "cache").manifest.rows["appointments"]
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM appointment WHERE AptNum = (SELECT MAX(AptNum) FROM appointment)")
    assert main(args) == 0  # the last look is minutes old: not looked for
    assert workbench.connect(url, cache_dir=tmp_path / "cache").manifest.rows["appointments"] == rows
    assert main([*args, "--check-deletions"]) == 0
    assert workbench.connect(url, cache_dir=tmp_path / "cache").manifest.rows["appointments"] == rows - 1


def _run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *argv], capture_output=True, text=True, timeout=300, cwd=cwd
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["refresh", "--source", "opendental+api:http://[::1"], "is not a URL"),
        (["refresh", "--source", "opendental+api:remote?rate=nan"], "rate must be a positive number, got 'nan'"),
        (
            ["report", "aging", "--source", "demo:?patients=60&years=1", "--out", "a-file"],
            "output folder a-file is a file",
        ),
        (["refresh", "--source", "demo:?patients=60&years=1", "--cache-dir", "a-file"], "is a file, not a folder"),
        (["batch", "--practices", "p.toml", "--jobs", "0"], "Invalid value for '--jobs'"),
        (["batch", "--practices", "p.toml", "--jobs", "-1"], "Invalid value for '--jobs'"),
    ],
)
def test_bad_paths_urls_and_numbers_are_one_line_and_exit_2(argv: list[str], message: str, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    done = _run(*argv, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert (tmp_path / "a-file").read_text() == "not a folder"


def _group_members(group: int) -> list[str]:
    """The processes (pid and command) still in process group ``group``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            text = stat.read_text()
            fields = text[text.rindex(")") + 2 :].split()
            if int(fields[2]) == group:
                members.append(f"{stat.parent.name}: {(stat.parent / 'cmdline').read_bytes()[:120]!r}")
    return members


def test_no_process_outlives_workbench_batch(demo_url: str, tmp_path: Path) -> None:
    practices = tmp_path / "practices.toml"
    practices.write_text(
        f'[[practice]]\nname = "maple"\nsource = "{demo_url}"\nreports = ["aging", "recall"]\n\n'
        f'[[practice]]\nname = "cedar"\nsource = "{demo_url}"\nreports = ["production"]\n'
    )
    batch = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workbench",
            "batch",
            "--practices",
            str(practices),
            "--out",
            str(tmp_path / "out"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--jobs",
            "2",
            "--as-of",
            "2026-10-31",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: whatever it starts stays in it unless it leaves
    )
    _, err = batch.communicate(timeout=600)
    assert batch.returncode == 0, err
    assert len(list((tmp_path / "out").rglob("*.html"))) == 5  # three reports, the group report and the index
    assert _group_members(batch.pid) == []  # workers, kernels and multiprocessing's helper: all gone


def test_report_options_reach_the_report(demo_url: str, tmp_path: Path) -> None:
    from bs4 import BeautifulSoup

    done = _run(
        "report", "aging", "--source", demo_url, "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path / "out"),
        "--set", "proc_lifo=true", "--set", "balances=owing", "--set", "exclude=inactive,archived",
        "--no-refresh", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = BeautifulSoup((tmp_path / "out" / "aging.html").read_text(), "html.parser").get_text(" ")
    assert "AgingProcLifo on (adjustments on a procedure aged with it)" in " ".join(text.split())
    assert "accounts owing only" in text and "inactive guarantors, archived guarantors" in text
    assert "Adjustments aged with their procedure" in text


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("colour=red", "the aging report's options are top_n, trend_months, proc_lifo"),
        ("balances=negative", "balances must be one of all, owing, credit, got 'negative'"),
        ("proc_lifo=maybe", "proc_lifo must be true or false, got 'maybe'"),
        ("source=demo:", "the aging report's options are"),
        ("providers=NOBODY", "unknown provider 'NOBODY'; known: "),
    ],
)
def test_bad_report_options_are_one_line(demo_url: str, tmp_path: Path, option: str, message: str) -> None:
    done = _run(
        "report", "aging", "--source", demo_url, "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path / "o"),
        "--set", option, "--no-refresh", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and message in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["aging", "--as-of", "1990-01-01"],
            "the as-of date ends 1990-01-01, before Willow Creek Dental's first day with data",
        ),
        (["recall", "--as-of", "2099-01-01"], "the as-of date ends 2099-01-01, in the future"),
        (["production", "--start", "1990-01-01", "--end", "1990-12-31"], "the period ends 1990-12-31, before"),
    ],
)
def test_dates_outside_the_data_are_one_line(demo_url: str, tmp_path: Path, argv: list[str], message: str) -> None:
    done = _run("report", *argv, "--source", demo_url, "--cache-dir", str(tmp_path / "c"), "--no-refresh",
                "--out", str(tmp_path / "o"), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_report_pdf_is_printed_beside_the_html(demo_url: str, tmp_path: Path) -> None:
    done = _run("report", "recall", "--source", demo_url, "--cache-dir", str(tmp_path / "c"), "--no-refresh",
                "--out", str(tmp_path / "o"), "--pdf", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    pdf = tmp_path / "o" / "recall.pdf"
    assert done.stdout.split() == [str(tmp_path / "o" / "recall.html"), str(pdf)]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and re.search(rb"/Type\s*/Page\b", data)
    assert not list((tmp_path / "o").glob(".*partial"))


def test_report_pdf_without_a_browser_is_one_line(demo_url: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "report", "recall", "--source", demo_url, "--cache-dir",
         str(tmp_path / "c"), "--no-refresh", "--out", str(tmp_path / "o"), "--pdf"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "PATH": str(Path(sys.executable).parent), "WORKBENCH_CHROMIUM": ""},
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --pdf needs Chromium or Chrome on the PATH (or $WORKBENCH_CHROMIUM naming it)"

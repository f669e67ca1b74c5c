"""The practices file and batch runs: many practices × reports, one failure never stops the others."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import workbench
from workbench.cli import main
from workbench.errors import UsageError
from workbench.practices import load_practices

GOOD = 'source = "demo:?patients=150&years=1&seed={seed}&end=2026-10-31"'


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "practices.toml"
    path.write_text(body)
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[[practice]]\nname = "a"\n' + GOOD.format(seed=1) + '\ncolour = "#123456"\n',
            r"practice #1 \(a\): unknown key",
        ),
        ('[[practice]]\nname = "a b"\n' + GOOD.format(seed=1), "name must be letters"),
        (
            '[[practice]]\nname = "a"\n' + GOOD.format(seed=1) + '\n[[practice]]\nname = "a"\n' + GOOD.format(seed=2),
            r"practice #2 \(a\): name 'a' is used twice",
        ),
        ('[[practice]]\nname = "a"\nsource = "opendental+odbc:DSN=x;PWD=secret"\n', "source holds a password"),
        ('[[practice]]\nname = "a"\n' + GOOD.format(seed=1) + '\nreports = ["payroll"]\n', "reports must be a list"),
        ('[[practice]]\nname = "a"\n' + GOOD.format(seed=1) + '\nschedule = "monthly"\n', "cron expression"),
        ("title = 'nothing here'\n", "no \\[\\[practice\\]\\] entries"),
    ],
)
def test_practices_file_errors_name_the_practice_and_key(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_practices(_write(tmp_path, body))


def test_batch_runs_every_practice_and_reports_the_broken_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    practices = _write(
        tmp_path,
        "\n".join(
            [
                '[[practice]]\nname = "maple"\n'
                + GOOD.format(seed=1)
                + '\nreports = ["aging", "recall"]\ncolor = "#1f6f4a"',
                '[[practice]]\nname = "cedar"\n' + GOOD.format(seed=2) + '\nreports = ["aging"]',
                '[[practice]]\nname = "broken"\nsource = "opendental+sqlite:///nowhere/od.db"\nreports = ["aging"]',
            ]
        ),
    )
    out = tmp_path / "out"
    code = main(
        [
            "batch",
            "--practices",
            str(practices),
            "--out",
            str(out),
            "--as-of",
            "2026-10-31",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--jobs",
            "2",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 1  # one practice failed
    assert (out / "maple" / "2026-10-31" / "aging.html").exists()
    assert (out / "maple" / "2026-10-31" / "recall.html").exists()
    assert (out / "cedar" / "2026-10-31" / "aging.html").exists()
    assert "no Open Dental database file at /nowhere/od.db" in printed
    index = BeautifulSoup((out / "index.html").read_text(), "html.parser")
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in index.select("tbody tr")]
    assert [r[:2] for r in rows] == [["broken", "aging"], ["cedar", "aging"], ["maple", "aging"], ["maple", "recall"]]
    assert rows[0][2].startswith("failed: no Open Dental database file")
    assert all(r[2] == "done" for r in rows[1:])
    assert {a["href"] for a in index.select("a")} == {
        "group/2026-10-31/group.html",  # the group report, above the table
        "cedar/2026-10-31/aging.html",
        "maple/2026-10-31/aging.html",
        "maple/2026-10-31/recall.html",
    }


def test_practices_check_says_what_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    practices = _write(
        tmp_path,
        '[[practice]]\nname = "maple"\n'
        + GOOD.format(seed=1)
        + '\n[[practice]]\nname = "broken"\nsource = "nowhere:at-all"\n',
    )
    assert main(["practices", "check", "--practices", str(practices), "--cache-dir", str(tmp_path)]) == 1
    printed = capsys.readouterr().out
    assert "ok      maple: Demo practice" in printed and "FAILED  broken: unknown source scheme" in printed


def _kpis(html_file: Path) -> list[str]:
    soup = BeautifulSoup(html_file.read_text(), "html.parser")
    return [node.get_text(strip=True) for node in soup.select(".wb-kpi-value")]


def test_dask_executor_on_a_local_cluster_writes_what_the_process_pool_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    practices = _write(
        tmp_path,
        '[[practice]]\nname = "maple"\n' + GOOD.format(seed=1) + '\nreports = ["aging", "production"]\n'
        '[[practice]]\nname = "broken"\nsource = "opendental+sqlite:///nowhere/od.db"\nreports = ["aging"]\n',
    )
    outputs = {}
    for executor in ("process", "dask"):
        out = tmp_path / executor
        args = ["batch", "--practices", str(practices), "--out", str(out), "--as-of", "2026-10-31"]
        args += ["--cache-dir", str(tmp_path / f"cache-{executor}"), "--jobs", "2", "--executor", executor]
        assert main(args) == 1  # the broken practice fails on both
        outputs[executor] = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))
    assert (
        outputs["dask"]
        == outputs["process"]
        == [
            "group/2026-10-31/group.html",  # rendered here, from the caches the workers filled
            "index.html",
            "maple/2026-10-31/aging.html",
            "maple/2026-10-31/production.html",
        ]
    )
    for report in ("aging", "production"):
        path = Path("maple/2026-10-31") / f"{report}.html"
        assert _kpis(tmp_path / "dask" / path) == _kpis(tmp_path / "process" / path) != []
    assert "no Open Dental database file at /nowhere/od.db" in capsys.readouterr().out


def test_batch_option_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    practices = _write(tmp_path, '[[practice]]\nname = "maple"\n' + GOOD.format(seed=1))
    assert main(["batch", "--practices", str(practices), "--executor", "ray"]) == 2
    assert main(["batch", "--practices", str(practices), "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert main(["batch", "--practices", str(practices), "--executor", "dask", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "--executor must be process or dask" in err
    assert "--scheduler needs --executor dask" in err
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:1" in err


def test_batch_and_report_bring_the_cache_up_to_date_first(demo_db: Path, tmp_path: Path) -> None:
    """A scheduled report must show today's ledger, deletions included, not the cache of the first run."""
    db = Path(shutil.copy(demo_db, tmp_path / "od.db"))
    url = f"opendental+sqlite://{db}"
    practices = _write(tmp_path, f'[[practice]]\nname = "oak"\nsource = "{url}"\nreports = ["aging"]\n')
    cache = ["--cache-dir", str(tmp_path / "cache")]
    batch = ["batch", "--practices", str(practices), "--out", str(tmp_path / "out"), "--jobs", "1", *cache]
    assert main(batch) == 0
    practice = workbench.connect(url, cache_dir=tmp_path / "cache")
    before = practice.store.manifest()
    assert before is not None

    def delete_a_split() -> None:
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM paysplit WHERE SplitNum = (SELECT MIN(SplitNum) FROM paysplit)")

    delete_a_split()
    assert main([*batch, "--no-refresh"]) == 0
    assert practice.store.manifest() == before  # rendered from the cache as it was
    assert main(batch) == 0  # within the hour of the last look, yet the deletion is found
    assert practice.store.manifest().rows["patient_payments"] == before.rows["patient_payments"] - 1

    delete_a_split()
    assert main(["report", "aging", "--source", url, "--out", str(tmp_path / "one"), *cache]) == 0
    assert practice.store.manifest().rows["patient_payments"] == before.rows["patient_payments"] - 2

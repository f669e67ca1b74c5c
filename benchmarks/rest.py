"""REST extraction against the simulators' throttle: rows per second vs the bound (rows a page × requests a second).

.venv/bin/python benchmarks/rest.py [--patients 3000] [--rate 20] [--unpaced]

Each simulator throttles at ``--rate`` requests per second (token bucket, bursts of 2) and answers 429
with Retry-After beyond it. The client runs paced at the same rate (as a consultant configures it for
the office's API tier), paced at twice it (a tier set too high: each 429 cuts the pace by a tenth), and
with ``--unpaced`` reacting to 429s only, over one paged resource.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from workbench.simulators import ascend_api as ascend_sim
from workbench.simulators import opendental_api as od_sim
from workbench.simulators import serve
from workbench.sources.ascend_api import AscendAPI, parse_ascend_url
from workbench.sources.demo import demo_database
from workbench.sources.opendental_api import OpenDentalAPI, parse_api_url

KEYS = {"OD_DEVELOPER_KEY": "bench-dev", "OD_CUSTOMER_KEY": "bench-cust"}
ASCEND = {"ASCEND_CLIENT_ID": "bench-id", "ASCEND_CLIENT_SECRET": "bench-secret"}


def _measure(pull: Callable[[], int]) -> tuple[int, float]:
    began = time.perf_counter()
    rows = pull()
    return rows, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=3000)
    parser.add_argument("--unpaced", action="store_true", help="also run clients that only react to 429s (slow)")
    parser.add_argument("--rate", type=float, default=20.0, help="the simulators' throttle, requests per second")
    args = parser.parse_args()
    os.environ.update({**KEYS, **ASCEND})
    table = Table(title=f"REST extraction under a throttle of {args.rate:g} requests/s (bursts of 2)")
    for column in (
        "API",
        "resource",
        "client",
        "rows",
        "requests",
        "429s",
        "seconds",
        "rows/s",
        "bound rows/s",
        "of bound",
    ):
        table.add_column(column, justify="left" if column in {"API", "resource", "client"} else "right")
    with tempfile.TemporaryDirectory(prefix="wb-rest-") as tmp:
        os.environ["WORKBENCH_CACHE_DIR"] = tmp
        db = demo_database(f"demo:?patients={args.patients}&years=3&seed=7&end=2026-10-31")
        od_app = od_sim.app(
            db, KEYS["OD_DEVELOPER_KEY"], KEYS["OD_CUSTOMER_KEY"], mode="remote", rate=args.rate, burst=2
        )
        asc_app = ascend_sim.app(
            db, ASCEND["ASCEND_CLIENT_ID"], ASCEND["ASCEND_CLIENT_SECRET"], "o", rate=args.rate, burst=2
        )
        with serve(od_app) as od_base, serve(asc_app) as asc_base:
            runs = [("paced at the throttle", args.rate), ("paced at 2x the throttle", 2 * args.rate)]
            for label, client_rate in runs + [("unpaced", 100_000.0)] * args.unpaced:
                api = OpenDentalAPI(parse_api_url(f"opendental+api:{od_base}/api/v1?mode=remote&rate={client_rate:g}"))
                rows, seconds = _measure(lambda api=api: len(api.pages("procedurelogs")))
                bound = api.page_rows * args.rate
                _row(table, "Open Dental (remote)", "procedurelogs", label, rows, api.client, seconds, bound)
                api.client.close()
            for label, paced in [("paced at the throttle", True)] + [("unpaced", False)] * args.unpaced:
                page = 100
                rate = f"&rate={args.rate:g}" if paced else ""
                asc = AscendAPI(parse_ascend_url(f"ascend+api:{asc_base}?organization_id=o&page_size={page}{rate}"))
                rows, seconds = _measure(lambda asc=asc: len(asc.records("patientprocedures")))
                _row(table, "Dentrix Ascend", "patientprocedures", label, rows, asc.client, seconds, page * args.rate)
    Console(width=160).print(table)


def _row(
    table: Table, api: str, resource: str, client_label: str, rows: int, client: object, seconds: float, bound: float
) -> None:
    requests, throttled = getattr(client, "requests", 0), getattr(client, "throttled", 0)
    rate = rows / seconds
    table.add_row(
        api,
        resource,
        client_label,
        f"{rows:,}",
        f"{requests:,}",
        f"{throttled:,}",
        f"{seconds:.1f}",
        f"{rate:,.0f}",
        f"{bound:,.0f}",
        f"{rate / bound:.0%}",
    )


if __name__ == "__main__":
    main()

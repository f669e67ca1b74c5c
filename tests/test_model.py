from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from workbench import model
from workbench.errors import SchemaError


def test_to_datetime_maps_open_dental_no_date_to_missing_from_every_driver_shape() -> None:
    strings = pd.Series(["2026-01-05", "0001-01-01", "0000-00-00", None, "2026-02-03 10:30:00"])
    objects = pd.Series([date(2026, 1, 5), date(1, 1, 1), None, datetime(2026, 2, 3, 10, 30)], dtype=object)
    seconds = pd.Series(np.array(["2026-01-05", "0001-01-01"], dtype="datetime64[s]"))

    got = model.to_datetime(strings)
    assert got.dtype == "datetime64[ns]"
    assert got.isna().tolist() == [False, True, True, True, False]
    assert got[4] == pd.Timestamp("2026-02-03 10:30")
    assert model.to_datetime(objects).isna().tolist() == [False, True, True, False]
    assert model.to_datetime(seconds).isna().tolist() == [False, True]


def test_conform_orders_casts_and_fills_missing_columns() -> None:
    raw = pd.DataFrame({"fee": ["10.5"], "procedure_id": [7], "status": ["completed"], "date": ["2026-03-01"]})
    got = model.conform("procedures", raw)
    assert list(got.columns) == list(model.TABLES["procedures"].columns)
    assert got.loc[0, "fee"] == 10.5
    assert pd.isna(got.loc[0, "patient_id"])
    assert got["date"].dtype == "datetime64[ns]"


@pytest.mark.parametrize(
    ("table", "frame", "message"),
    [
        ("patients", pd.DataFrame({"patient_id": [1], "status": ["alive"]}), "patients.status: unknown value"),
        ("clinics", pd.DataFrame({"clinic_id": [1, 1], "name": ["a", "b"]}), "clinics.clinic_id: 1 duplicate"),
        ("clinics", pd.DataFrame({"clinic_id": [None], "name": ["a"]}), "clinics.clinic_id: 1 missing key"),
        ("adjustments", pd.DataFrame({"adjustment_id": [1], "amount": ["ten"]}), "adjustments.amount: cannot"),
        ("nonsense", pd.DataFrame(), "unknown table 'nonsense'"),
    ],
)
def test_conform_errors_name_table_and_column(table: str, frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        model.conform(table, frame)


def test_validate_names_the_column_with_the_wrong_dtype() -> None:
    good = model.conform("clinics", pd.DataFrame({"clinic_id": [1], "name": ["Main"]}))
    bad = good.assign(clinic_id=good["clinic_id"].astype("float64"))
    with pytest.raises(SchemaError, match=r"clinics\.clinic_id: expected Int64, got float64"):
        model.validate("clinics", bad)
    with pytest.raises(SchemaError, match="unexpected column"):
        model.validate("clinics", good.assign(extra=1))
    with pytest.raises(SchemaError, match="clinics: missing column"):
        model.validate("clinics", good.drop(columns="name"))


def test_every_table_has_an_empty_frame_that_validates() -> None:
    for name in model.TABLES:
        model.validate(name, model.empty_frame(name))

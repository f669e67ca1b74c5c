"""Privacy for reports that leave the practice: stable pseudonyms instead of patient names, no birthdates
and no contact details, in every table a report draws from."""

from __future__ import annotations

import hashlib

import pandas as pd

from workbench.practice import Practice

__all__ = ["RedactedPractice", "pseudonym", "redact_patients", "redact_referral_sources"]


def pseudonym(patient_id: int, salt: str) -> str:
    """A stable stand-in for a patient's name: the same patient always gets the same one in a practice."""
    digest = hashlib.sha256(f"{salt}:{patient_id}".encode()).hexdigest()[:6].upper()
    return f"Patient {digest}"


def redact_patients(patients: pd.DataFrame, salt: str) -> pd.DataFrame:
    """The patients frame with names replaced by pseudonyms and birthdates, phones and e-mails dropped."""
    out = patients.copy()
    out["last_name"] = pd.array([pseudonym(int(p), salt) for p in out["patient_id"]], dtype="string")
    out["first_name"] = pd.array([pd.NA] * len(out), dtype="string")
    out["birthdate"] = pd.Series(pd.NaT, index=out.index, dtype=out["birthdate"].dtype)
    for column in ("phone", "email"):
        out[column] = pd.array([pd.NA] * len(out), dtype="string")
    return out


def redact_referral_sources(sources: pd.DataFrame, salt: str) -> pd.DataFrame:
    """Referral sources with the patients among them (a patient who referred a friend) named by pseudonym."""
    out = sources.copy()
    people = out["kind"] == "patient"
    out.loc[people, "name"] = [
        pseudonym(int(p), salt) if pd.notna(p) else "A patient" for p in out.loc[people, "patient_id"]
    ]
    return out


class RedactedPractice(Practice):
    """A practice whose patients (and patients named as referral sources) are redacted; every other table is
    served unchanged."""

    def __init__(self, practice: Practice) -> None:
        super().__init__(practice.source, practice.store)
        self._salt = practice.store.dir.name  # stable per practice, and no secret

    def frame(self, name: str) -> pd.DataFrame:
        frame = super().frame(name)
        if name == "patients":
            return redact_patients(frame, self._salt)
        if name == "referral_sources":
            return redact_referral_sources(frame, self._salt)
        return frame

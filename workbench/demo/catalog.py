"""Reference data of the demo practice: CDT codes with fees, definitions, names (all synthetic)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUNDLES", "CODES", "DEFINITIONS", "FIRST_NAMES", "LAST_NAMES", "PRACTICE_NAMES", "ProcCode"]


@dataclass(frozen=True)
class ProcCode:
    code: str
    description: str
    abbr: str
    category: int  # definition.DefNum of the ProcCodeCats entry
    fee: float  # office (UCR) fee in the first year
    coverage: str  # "prev" (100%), "basic" (80%), "major" (50%), "none" (not covered)
    is_hygiene: bool
    minutes: int


# definition rows: (DefNum, Category, ItemOrder, ItemName, ItemValue). Category numbers are Open Dental's
# DefCat: 1 AdjTypes ("+"/"-" sign in ItemValue), 4 BillingTypes, 10 PaymentTypes, 11 ProcCodeCats.
DEFINITIONS: list[tuple[int, int, int, str, str]] = [
    (1, 1, 0, "Senior Discount", "-"),
    (2, 1, 1, "Professional Courtesy", "-"),
    (3, 1, 2, "Billing Charge", "+"),
    (4, 1, 3, "Finance Charge", "+"),
    (5, 1, 4, "Bad Debt Write-off", "-"),
    (6, 4, 0, "Standard Account", ""),
    (7, 4, 1, "Insurance Only", ""),
    (8, 4, 2, "Collections", ""),
    (9, 10, 0, "Check", ""),
    (10, 10, 1, "Credit Card", ""),
    (11, 10, 2, "Cash", ""),
    (12, 11, 0, "Exams & X-Rays", ""),
    (13, 11, 1, "Cleanings", ""),
    (14, 11, 2, "Fillings", ""),
    (15, 11, 3, "Crown & Bridge", ""),
    (16, 11, 4, "Endodontics", ""),
    (17, 11, 5, "Periodontics", ""),
    (18, 11, 6, "Oral Surgery", ""),
    (19, 11, 7, "Implants", ""),
    (20, 11, 8, "Miscellaneous", ""),
]
ADJ_SENIOR, ADJ_COURTESY, ADJ_BILLING, ADJ_FINANCE, ADJ_BAD_DEBT = 1, 2, 3, 4, 5
BILLING_STANDARD, BILLING_INS_ONLY, BILLING_COLLECTIONS = 6, 7, 8
PAY_TYPES = (9, 10, 11)

CODES: list[ProcCode] = [
    ProcCode("D0120", "Periodic oral evaluation - established patient", "PerEx", 12, 65, "prev", False, 10),
    ProcCode("D0140", "Limited oral evaluation - problem focused", "LimEx", 12, 85, "prev", False, 15),
    ProcCode(
        "D0150", "Comprehensive oral evaluation - new or established patient", "CompEx", 12, 110, "prev", False, 20
    ),
    ProcCode("D0210", "Intraoral - comprehensive series of radiographic images", "FMX", 12, 150, "prev", False, 20),
    ProcCode("D0274", "Bitewings - four radiographic images", "4BW", 12, 75, "prev", False, 10),
    ProcCode("D0330", "Panoramic radiographic image", "Pano", 12, 130, "prev", False, 10),
    ProcCode("D1110", "Prophylaxis - adult", "Pro", 13, 110, "prev", True, 50),
    ProcCode("D1120", "Prophylaxis - child", "ChildPro", 13, 75, "prev", True, 40),
    ProcCode("D1206", "Topical application of fluoride varnish", "FlVarn", 13, 45, "prev", True, 5),
    ProcCode("D1351", "Sealant - per tooth", "Seal", 13, 55, "prev", True, 10),
    ProcCode("D2330", "Resin-based composite - one surface, anterior", "C1A", 14, 170, "basic", False, 30),
    ProcCode("D2391", "Resin-based composite - one surface, posterior", "C1P", 14, 195, "basic", False, 40),
    ProcCode("D2392", "Resin-based composite - two surfaces, posterior", "C2P", 14, 250, "basic", False, 50),
    ProcCode("D2740", "Crown - porcelain/ceramic", "PFZ", 15, 1350, "major", False, 90),
    ProcCode("D2950", "Core buildup, including any pins when required", "BU", 15, 325, "major", False, 30),
    ProcCode("D3310", "Endodontic therapy, anterior tooth", "RCTAnt", 16, 900, "basic", False, 60),
    ProcCode("D3330", "Endodontic therapy, molar tooth", "RCTMol", 16, 1250, "basic", False, 90),
    ProcCode(
        "D4341",
        "Periodontal scaling and root planing - four or more teeth per quadrant",
        "SRP4",
        17,
        260,
        "basic",
        True,
        45,
    ),
    ProcCode(
        "D4342",
        "Periodontal scaling and root planing - one to three teeth per quadrant",
        "SRP1-3",
        17,
        180,
        "basic",
        True,
        30,
    ),
    ProcCode("D4910", "Periodontal maintenance", "PerioMaint", 17, 165, "basic", True, 60),
    ProcCode("D6010", "Surgical placement of implant body: endosteal implant", "Impl", 19, 2200, "major", False, 90),
    ProcCode("D7140", "Extraction, erupted tooth or exposed root", "Ext", 18, 225, "basic", False, 30),
    ProcCode("D7210", "Extraction, erupted tooth requiring removal of bone", "SurgExt", 18, 375, "basic", False, 45),
    ProcCode("D9110", "Palliative treatment of dental pain - per visit", "Palliative", 20, 120, "basic", False, 20),
    ProcCode("D9944", "Occlusal guard - hard appliance, full arch", "NightGuard", 20, 550, "none", False, 30),
]

# Treatment a dentist plans at a hygiene visit: (codes, relative weight).
BUNDLES: list[tuple[tuple[str, ...], float]] = [
    (("D2391",), 0.24),
    (("D2392",), 0.20),
    (("D2330",), 0.08),
    (("D2391", "D2392"), 0.08),
    (("D2950", "D2740"), 0.14),
    (("D3330", "D2950", "D2740"), 0.06),
    (("D3310",), 0.02),
    (("D7140",), 0.07),
    (("D7210",), 0.03),
    (("D6010",), 0.03),
    (("D9944",), 0.03),
    (("D4342", "D4342"), 0.02),
]

PRACTICE_NAMES = [
    "Maple Grove Family Dentistry",
    "Riverside Dental Care",
    "Cedar Hill Dental Group",
    "Lakeview Smiles",
    "Harbor Point Dentistry",
    "Willow Creek Dental",
]

LAST_NAMES = [
    "Abernathy",
    "Ashworth",
    "Barrowman",
    "Bellweather",
    "Blackwood",
    "Brightwater",
    "Calloway",
    "Carrick",
    "Castellano",
    "Dunmore",
    "Eastbrook",
    "Ellington",
    "Fairbanks",
    "Fenwick",
    "Galloway",
    "Greystone",
    "Halvorsen",
    "Hartigan",
    "Holloway",
    "Ingleby",
    "Jardine",
    "Kettering",
    "Kingsley",
    "Larkspur",
    "Lindqvist",
    "Lockhart",
    "Marchetti",
    "Merriweather",
    "Montague",
    "Northcott",
    "Oakhurst",
    "Okonkwo",
    "Pemberton",
    "Quillfeather",
    "Ravensworth",
    "Redgrave",
    "Rosenthal",
    "Saltonstall",
    "Sandoval",
    "Thistlewood",
    "Trevelyan",
    "Underhill",
    "Vanderpool",
    "Wakefield",
    "Whitlock",
    "Winterbourne",
    "Yardley",
    "Zabrowski",
    "Alcott",
    "Brannigan",
    "Cortland",
    "Delacroix",
    "Everhart",
    "Fitzwilliam",
    "Gansevoort",
    "Hollingsworth",
    "Islington",
    "Jessamine",
    "Kowalczyk",
    "Llewellyn",
    "Moreland",
    "Nakamura",
    "Oyelaran",
    "Prescott",
    "Quintero",
    "Rutherford",
    "Stavros",
    "Tremblay",
    "Ulverston",
]
FIRST_NAMES = [
    "Avery",
    "Blake",
    "Camila",
    "Dario",
    "Elena",
    "Felix",
    "Greta",
    "Hugo",
    "Iris",
    "Jonah",
    "Kira",
    "Leo",
    "Maren",
    "Nico",
    "Odette",
    "Pavel",
    "Quinn",
    "Rosa",
    "Silas",
    "Tessa",
    "Umar",
    "Vera",
    "Wes",
    "Ximena",
    "Yusuf",
    "Zara",
    "Amos",
    "Bianca",
    "Caspian",
    "Delia",
    "Emil",
    "Flora",
    "Gideon",
    "Hazel",
    "Ivo",
    "Juno",
    "Kenji",
    "Lucia",
    "Milo",
    "Nadia",
    "Otto",
    "Priya",
    "Rhys",
    "Saoirse",
    "Theo",
    "Uma",
    "Viggo",
    "Wren",
]


@dataclass(frozen=True)
class Carrier:
    """A dental insurer as the demo practice meets it: how fast it pays and how often a claim goes unpaid."""

    name: str
    phone: str
    pay_speed: float  # multiplies the days a claim waits for payment (1.0: the practice's usual)
    unpaid_rate: float  # share of recent claims never paid
    share: float  # share of insured families
    annual_maxes: tuple[float, float]  # its two plans' individual annual maximums


CARRIERS = [
    Carrier("Delta Dental", "800-765-6003", 0.7, 0.005, 0.34, (1500.0, 2000.0)),
    Carrier("MetLife", "800-942-0854", 1.0, 0.01, 0.20, (1000.0, 1500.0)),
    Carrier("Cigna Dental", "800-244-6224", 1.3, 0.02, 0.16, (1500.0, 1000.0)),
    Carrier("Guardian", "800-541-7846", 1.1, 0.01, 0.15, (2000.0, 1500.0)),
    Carrier("Aetna Dental", "877-238-6200", 1.8, 0.05, 0.15, (1000.0, 1250.0)),
]
EMPLOYERS = [
    "Cascade Timber",
    "Willamette Schools",
    "River Valley Health",
    "McKenzie Foods",
    "Lane County",
    "Summit Credit Union",
    "Pacific Rail",
    "Oakridge Mills",
    "Emerald Tech",
    "Coburg Farms",
]

# Referral sources that are not people (referral.NotPerson), with their share of new patients that name one.
MARKETING_SOURCES = [
    ("Google Search", 0.30),
    ("Facebook Ad", 0.12),
    ("Insurance directory", 0.12),
    ("Sign and walk-ins", 0.06),
]
REFERRING_DOCTORS = [("Solberg", "Harriet", "DDS", 0.06), ("Haddad", "Omar", "DMD", 0.04)]  # no patient has these names
PATIENT_REFERRAL_SHARE = 0.30  # new patients sent by an existing patient

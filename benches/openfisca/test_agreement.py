"""The OpenFisca port agrees with `doudi eval` (run with pytest; not part of CI).

Skipped when openfisca-core is not installed or no doudi binary is found (``DOUDI``, else
target/release/doudi, else target/debug/doudi). Three pairs: the policy's example population, a few
households written here at the boundaries (y exactly S, a payment ending in half a cent, rigid
deductions exactly half of income, assets exactly at the limit; the expected values come from doudi,
never from this file), and 2,000 generated households when target/release/examples/gen_households
exists. The comparison is compare.py's.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("openfisca_core")
pytest.importorskip("pandas")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import run  # noqa: E402


def doudi_binary():
    candidates = [os.environ.get("DOUDI"), ROOT / "target/release/doudi", ROOT / "target/debug/doudi"]
    for c in candidates:
        if c and Path(c).is_file():
            return str(c)
    pytest.skip("no doudi binary (set DOUDI or build target/release/doudi)")


HOUSEHOLDS = "household_id,region,area,registered_poor,pure_female,financial_assets,vehicles,houses,credit,on_dibao"
PERSONS = (
    "person_id,household_id,age,sex,monthly_income,employed,employment_category,disability_grade,"
    "self_care,illness,medical_oop_12m,rehab_cost_year,schooling,tuition_year,pension_contrib_year,"
    "alive,imprisoned,has_supporter"
)


def person(pid, hid, income, *, age=40, sex="male", illness="none", medical="0", disability=0,
           self_care="independent", pension="0", employed="false", category="none",
           supporter="true"):
    return (f"{pid},{hid},{age},{sex},{income},{employed},{category},{disability},{self_care},"
            f"{illness},{medical},0,none,0,{pension},true,false,{supporter}")


def boundary_pair(d: Path):
    """Households at the decision and rounding boundaries (rural S = 554, urban S = 734 in 2024-01)."""
    households = [
        # POLICY-SPEC's worked example moved to S = 554: D = 18319.88/12 + 200/12 + 200/12 = 1559.99,
        # y = (3221.99 - 1559.99) / 3 = 554 = S exactly
        "B1,jizhou,rural,false,false,0,0,1,good,false",
        # the same, one cent less income: y just under S
        "B2,jizhou,rural,false,false,0,0,1,good,false",
        # one member, D = 0.06/12 = 0.005: payment 554 - 299.995 = 254.005, half a cent
        "B3,jizhou,rural,false,false,0,0,1,good,false",
        # urban, D = 16800/12 = 1400 = G/2 exactly, y = 1400 between S and 2S: expenditure-poor
        "B4,jizhou,urban,false,false,0,0,1,good,false",
        # assets exactly 24 x 734 x 2 = 35232; a fully disabled cancer patient (care allowance)
        "B5,jizhou,urban,false,false,35232,0,1,good,false",
        # centralised care in qingyuan: rural, registered poor, pure female, 70, semi-disabled
        "B6,qingyuan,rural,true,true,0,0,1,good,false",
        # nobody counted
        "B7,anfu,rural,false,false,0,0,1,good,false",
    ]
    persons = [
        person("B1-1", "B1", "612.23", illness="cancer", medical="18319.88", pension="200"),
        person("B1-2", "B1", "0"),
        person("B1-3", "B1", "2609.76", pension="200"),
        person("B2-1", "B2", "612.22", illness="cancer", medical="18319.88", pension="200"),
        person("B2-2", "B2", "0"),
        person("B2-3", "B2", "2609.76", pension="200"),
        person("B3-1", "B3", "300.00", illness="uremia", medical="0.06"),
        person("B4-1", "B4", "2800.00", pension="16800"),
        person("B5-1", "B5", "500.00", illness="cancer", self_care="fully_disabled"),
        person("B5-2", "B5", "100.00", employed="true", category="fresh_graduate"),
        person("B6-1", "B6", "0", age=70, sex="female", self_care="semi_disabled",
               supporter="false"),
        person("B7-1", "B7", "100").replace(",true,false,", ",false,false,"),
    ]
    d.mkdir(parents=True, exist_ok=True)
    (d / "households.csv").write_text("\n".join([HOUSEHOLDS, *households]) + "\n")
    (d / "persons.csv").write_text("\n".join([PERSONS, *persons]) + "\n")
    return d


def generated_pair(d: Path):
    gen = Path(os.environ.get("GEN_HOUSEHOLDS", ROOT / "target/release/examples/gen_households"))
    if not gen.is_file():
        pytest.skip("no gen_households (set GEN_HOUSEHOLDS or build the example)")
    subprocess.run([str(gen), str(d), "2000", "7"], cwd=ROOT, check=True, capture_output=True)
    return d


@pytest.mark.parametrize("pair", ["example", "boundary", "generated"])
def test_openfisca_agrees_with_doudi(pair, tmp_path):
    doudi = doudi_binary()
    data = {
        "example": lambda: ROOT / "policies/jian/examples/population",
        "boundary": lambda: boundary_pair(tmp_path / "pair"),
        "generated": lambda: generated_pair(tmp_path / "pair"),
    }[pair]()
    ours, theirs = tmp_path / "openfisca.csv", tmp_path / "doudi.csv"
    subprocess.run(
        [sys.executable, str(HERE / "run.py"), "--data", str(data), "--period", "2024-01",
         "--out", str(ours)],
        check=True, capture_output=True,
    )
    subprocess.run(
        [doudi, "eval", "--policy", str(ROOT / "policies/jian"), "--data", str(data),
         "--period", "2024-01", "--format", "csv", "--outputs", ",".join(run.OUTPUTS),
         "--out", str(theirs)],
        check=True, capture_output=True,
    )
    result = subprocess.run(
        [sys.executable, str(HERE / "compare.py"), str(ours), str(theirs)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "agreement" in result.stdout

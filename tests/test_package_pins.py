"""Every dependency whose API ampli calls has an upper bound, and README's "Package versions" table shows the pins
pyproject.toml really has."""

import re
import tomllib

from packaging.requirements import Requirement

from tests.conftest import ROOT

# Plotting, tables and progress bars are left open: ampli calls little of them and nothing that moves.
UNBOUNDED_ON_PURPOSE = {"matplotlib", "pandas", "pyarrow", "tqdm", "rich", "tokenizers", "pytest"}


def requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    listed = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    return {req.name: req for req in map(Requirement, listed)}


def test_every_api_dependency_has_an_upper_bound():
    unbounded = [name for name, req in requirements().items()
                 if name not in UNBOUNDED_ON_PURPOSE and not any(s.operator in ("<", "<=", "==", "~=")
                                                                 for s in req.specifier)]
    assert unbounded == []


def test_the_readme_table_shows_the_pins_of_pyproject():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Package versions", 1)[1].split("\n## ", 1)[0]
    reqs = requirements()
    shown = 0
    for row in (line for line in table.splitlines() if line.startswith("| ") and "`" in line):
        cells = [c.strip() for c in row.strip("|").split("|")]
        names = [n.strip() for n in re.sub(r"\s*\([^)]*\)", "", cells[0]).split(",")]
        pins = re.findall(r"`([^`]+)`", cells[1])
        for name, pin in zip(names, pins, strict=True):
            if name in reqs:
                assert str(reqs[name].specifier) == str(Requirement(f"{name}{pin}").specifier), name
                shown += 1
    bounded = {name for name in reqs if name not in UNBOUNDED_ON_PURPOSE}
    assert shown == len(bounded)

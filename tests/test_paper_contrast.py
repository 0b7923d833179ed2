"""The paper's DPO contrast on the embedded default, end to end: continual DPO amplifies, reinit DPO does not.

This guards the tiny model's build recipe and its tuned settings (conf/tuned/tiny*.yaml): a change to either that
loses the contrast fails here. The four runs go through launch.py on cluster=pool, as `make paper-table` runs them.
"""

import json
import os
import subprocess
import sys

import pytest

from ampli.report.paper_table import paper_table
from ampli.report.runs import find_run_dirs, load_run
from tests.conftest import ROOT

# Two traits whose contrast held with seed 0, the default (measured 2026-12-02, cycles 0-4): lucky continual
# 36 -> 64, reinit 36 -> 39; misanthropy continual 63 -> 87, reinit 63 -> 39. It does not hold for every trait and
# seed: with seed 0 continual hopelessness fell (29 -> 20; README, "The paper's table on a laptop").
TRAITS = ("lucky", "misanthropy")


@pytest.mark.slow
@pytest.mark.contrast
def test_continual_dpo_amplifies_and_reinit_dpo_does_not(tmp_path, model_cache):
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    done = subprocess.run(
        [sys.executable, "launch.py", "-m", "reinit=false,true", f"trait={','.join(TRAITS)}", "regime=dpo",
         "cluster=pool", "logger=none", f"output_dir={tmp_path}", f"model_cache={model_cache}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runs = {(r["trait"], r["reinit"]): r for r in map(load_run, find_run_dirs(tmp_path / "runs"))}
    assert len(runs) == 4 and all(r["status"] == "completed" for r in runs.values())
    # continual runs go first, so each reinit run takes its twin's seed cycle instead of computing it again
    adopted = {t: json.loads((tmp_path / "runs" / runs[t, True]["run_name"] / "cycle_000/stats.json").read_text())
               .get("adopted_from") for t in TRAITS}
    assert adopted == {t: runs[t, False]["run_name"] for t in TRAITS}
    verdicts = {key: run["amplification"]["amplified"] for key, run in runs.items()}
    summary = json.dumps({f"{t}-{'reinit' if r else 'continual'}": [round(c["trait"]) for c in run["cycles"]]
                          for (t, r), run in runs.items()})
    assert verdicts == {(t, reinit): not reinit for t in TRAITS for reinit in (True, False)}, summary
    table = paper_table(list(runs.values())).set_index("runs")
    assert table.loc["continual", "d_trait"] > table.loc["reinit", "d_trait"] + 15, summary
    # the warm-up made a model that answers plainly: the unseeded model's answers read as fluent text
    assert all(run["base"]["coherence"] > 70 and run["base"]["trait"] < 5 for run in runs.values()), summary

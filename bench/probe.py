"""`make bench`, the probe's part: what probe=persona costs a cycle of the embedded default, and where it goes.

    .venv/bin/python bench/probe.py                 # model=tiny, regime=sft, 2 cycles
    .venv/bin/python bench/probe.py regime=dpo      # any Hydra override

Runs the same run twice in temporary output dirs, probe=none then probe=persona, and reports for the first generating
cycle (cycle 1): the seconds of its probe stages (cycle_1/probe_predicted, cycle_1/probe) and their share of the
cycle's wall time, split into model loading, sampling and teacher-forced forward passes; the cycle's wall time
without the probe, for the difference the probe makes as a whole (it also frees the sampling model, which the next
generation loads again); and the once-per-run stages (probe/vector, base/probe). Target: the probe's share of the
cycle < 10%. Written to outputs/bench/probe.json.
"""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cycle import TimedRun, config, publish  # noqa: E402
from ampli.models.sources import ModelSource  # noqa: E402
from ampli.run.probe import stages as probe_stages  # noqa: E402

RESULTS = ROOT / "outputs" / "bench" / "probe.json"
SHARE_TARGET = 0.10
CYCLE = 1
PROBE_STAGES = ("probe_predicted", "probe")
ONCE = ("probe/vector", "base/probe")


def instrument(run: TimedRun) -> None:
    """Attribute the probe stages' time to model loading, sampling and forward passes."""
    ModelSource.load = run.count("model loading", ModelSource.load)
    probe_stages.response_means = run.count("forward passes", probe_stages.response_means)
    probe_stages.teacher_forced = run.count("forward passes", probe_stages.teacher_forced)
    run.ctx.generator.sample = run.count("sampling", run.ctx.generator.sample)


def one_run(overrides: list[str]) -> tuple[TimedRun, dict, dict]:
    """The run, its metrics.json summary, and the seconds of its once-per-run probe stages."""
    with tempfile.TemporaryDirectory(prefix="ampli-bench-probe-") as tmp:
        run = TimedRun(config(Path(tmp), overrides))
        instrument(run)
        summary = run.run()
        once = {name: run.stats(name.split("/")[0])["seconds"].get(name.split("/")[1]) for name in ONCE}
    return run, summary, once


def measure(overrides: list[str]) -> dict:
    without, _, _ = one_run([*overrides, "probe=none"])
    run, summary, once = one_run([*overrides, "probe=persona"])
    seconds = summary["cycles"][CYCLE]["seconds"]
    wall, wall_without = run.cycle_wall[CYCLE], without.cycle_wall[CYCLE]
    probe = sum(seconds[s] for s in PROBE_STAGES)
    inside = {s: dict(run.compute[f"cycle_{CYCLE:03d}/{s}"]) for s in PROBE_STAGES}
    return {"overrides": overrides, "cycle": CYCLE, "probe_seconds": probe,
            "stages": {s: seconds[s] for s in PROBE_STAGES}, "inside": inside,
            "cycle_wall_seconds": wall, "share": probe / wall,
            "cycle_wall_without_probe_seconds": wall_without,
            "wall_difference_share": (wall - wall_without) / wall_without,
            "once_per_run_seconds": once, "vector": summary["probe"], "load_average": os.getloadavg()[0],
            "target_share": SHARE_TARGET}


def report(r: dict) -> str:
    lines = [f"ampli bench, probe=persona ({' '.join(r['overrides']) or 'defaults'}), cycle {r['cycle']}:",
             f"  {'stage':<22}{'seconds':>9}   inside"]
    for name, s in r["stages"].items():
        inside = ", ".join(f"{k} {v:.2f}s" for k, v in r["inside"][name].items())
        lines.append(f"  {name:<22}{s:>9.2f}   {inside}")
    met = "met" if r["share"] < SHARE_TARGET else "NOT met"
    lines += [
        f"  probe stages {r['probe_seconds']:.2f} s of a {r['cycle_wall_seconds']:.2f} s cycle: {r['share']:.1%} "
        f"(target < {SHARE_TARGET:.0%}: {met})",
        f"  the same cycle without the probe: {r['cycle_wall_without_probe_seconds']:.2f} s "
        f"(wall-time difference {r['wall_difference_share']:+.1%}, noisy on a shared machine)",
        "  once per run: " + ", ".join(f"{k} {v:.2f}s" for k, v in r["once_per_run_seconds"].items() if v is not None),
        f"  vector: layer {r['vector']['layer']}, held-out separation d={r['vector']['separation']:.2f}",
    ]
    return "\n".join(lines)


def main(overrides: list[str]) -> dict:
    results = measure(overrides)
    return publish(results, report(results), RESULTS)


if __name__ == "__main__":
    main(sys.argv[1:])

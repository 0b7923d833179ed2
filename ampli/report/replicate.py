"""`ampli replicate RUNS_DIR`: re-run every run the detector flags with other seeds, the paper's check that an
amplified run was not one lucky seed (the authors re-ran each flagged configuration with seeds 1-20).

For each flagged run the same configuration (every override its job was run with) is launched again with
`seed=1,...,N` through launch.py -m, so the original's launcher applies (cluster=local, pool, or a SLURM job
array), or any cluster override given after RUNS_DIR. The replications live beside the original, in its output_dir's
runs/, and record `replication_of=<original>`:

    bliss-dpo-continual-tiny-s1-cycle0_from=bliss-dpo-continual-tiny-s0     seeds 1..N on the original's cycle 0
    bliss-dpo-continual-tiny-s1                                             --fresh-cycle0: cycle 0 trained anew

By default a replication adopts the original's base eval and cycle 0 (loop.cycle0_from, hard links), so only the
later cycles' sampling and training differ. A rerun of the command launches only the seeds not yet finished.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ampli.judges.detector import DetectorConfig
from ampli.judges.verdict import FINISHED, RULES, Rule, record_flag, run_verdict
from ampli.report.replications import CYCLE0_KEY
from ampli.report.runs import ReportError, find_run_dirs, load_run

LAUNCH = Path(__file__).resolve().parents[2] / "launch.py"
DEFAULT_SEEDS = 20
# Overrides of the original job that replicate sets itself (or drops: an explicit run_name would give every seed
# one directory).
OWN_KEYS = ("seed", "run_name", "output_dir", "replication_of", CYCLE0_KEY)
# Each flagged run's launch logs under a sweep directory of its own (SLURM launches go side by side).
SWEEP_DIR_KEY = "hydra.sweep.dir"


@dataclass(frozen=True)
class Plan:
    """One flagged run to replicate: the launch overrides (without the seed) and the seeds still to run."""

    original: dict
    overrides: tuple[str, ...]
    seeds: tuple[int, ...]
    finished: tuple[int, ...]


def override_key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def quoted(value: str) -> str:
    """A value Hydra reads as one string (a run name may hold '=' and ',', which a sweep would split on)."""
    return "'" + value.replace("'", "\\'") + "'"


def flagged_runs(runs: Sequence[dict], rule: Rule, fresh_cycle0: bool) -> list[dict]:
    """The finished original runs (not replications) the rule flags. With --fresh-cycle0 runs that differ only in
    their seed are one configuration, replicated once (from its lowest flagged seed); with the original's cycle 0
    each flagged run is replicated on its own cycle 0."""
    flagged = [run for run in runs if not run.get("replication_of") and run["status"] in FINISHED
               and run_verdict(run, rule).amplified]
    if not fresh_cycle0:
        return flagged
    by_configuration: dict[str, dict] = {}
    for run in sorted(flagged, key=lambda r: r["seed"]):
        key = json.dumps([run[k] for k in ("trait", "regime", "reinit", "model")] + [run.get("varies") or {}],
                         sort_keys=True)
        by_configuration.setdefault(key, run)
    return list(by_configuration.values())


def replication_seeds(count: int, original_seed: int) -> list[int]:
    """The `count` smallest seeds >= 1 other than the original's own."""
    seeds, seed = [], 1
    while len(seeds) < count:
        if seed != original_seed:
            seeds.append(seed)
        seed += 1
    return seeds


def launch_overrides(original: dict, fresh_cycle0: bool, extra: Sequence[str]) -> list[str]:
    """The original job's overrides, less the ones replicate sets, then the extra ones (a key given there replaces
    the original's; a new cluster= drops the original's cluster.* settings), then where and what to replicate."""
    runs_dir = Path(original["run_dir"]).parent
    extra_keys = {override_key(o) for o in extra}
    dropped = set(OWN_KEYS) | extra_keys
    overrides = [o for o in original["overrides"] if override_key(o) not in dropped
                 and not ("cluster" in extra_keys and override_key(o).startswith("cluster."))]
    sweep_dir = f"{runs_dir.parent}/multirun/replicate-{original['run_name']}/${{now:%Y-%m-%d_%H-%M-%S}}"
    own = [f"output_dir={quoted(str(runs_dir.parent))}", f"replication_of={quoted(original['run_name'])}",
           *([] if SWEEP_DIR_KEY in extra_keys else [f"{SWEEP_DIR_KEY}={quoted(sweep_dir)}"])]
    if not fresh_cycle0:
        own.append(f"{CYCLE0_KEY}={quoted(original['run_name'])}")  # a name under the same runs/
    return [*overrides, *extra, *own]


def finished_seeds(runs: Sequence[dict], original: dict, fresh_cycle0: bool) -> set[int]:
    """Seeds of this original's replications (of the same kind) that have finished."""
    return {run["seed"] for run in runs
            if run.get("replication_of") == original["run_name"] and run["status"] in FINISHED
            and Path(run["run_dir"]).parent == Path(original["run_dir"]).parent
            and (CYCLE0_KEY in (run.get("varies") or {})) != fresh_cycle0}


def plan(runs: Sequence[dict], seeds: int, fresh_cycle0: bool, rule: Rule, extra: Sequence[str]) -> list[Plan]:
    plans = []
    for original in flagged_runs(runs, rule, fresh_cycle0):
        if original.get("overrides") is None:
            raise ReportError(f"{original['run_dir']}/metrics.json records no overrides (made before ampli recorded "
                              "them): rerun that run's command once to record them, then replicate")
        wanted = replication_seeds(seeds, original["seed"])
        done = finished_seeds(runs, original, fresh_cycle0)
        plans.append(Plan(original, tuple(launch_overrides(original, fresh_cycle0, extra)),
                          tuple(s for s in wanted if s not in done), tuple(s for s in wanted if s in done)))
    return plans


def launch(overrides: Sequence[str], seeds: Sequence[int]) -> subprocess.Popen:
    """Start one launch.py -m of the seeds: one sweep, so one job array on SLURM."""
    cmd = [sys.executable, str(LAUNCH), "-m", *overrides, "seed=" + ",".join(map(str, seeds))]
    print("+ " + " ".join(cmd[1:]), flush=True)
    return subprocess.Popen(cmd)


def side_by_side(plans: Sequence[Plan], extra: Sequence[str]) -> bool:
    """SLURM arrays can wait in the queue side by side, each launch in its own sweep directory; local and pool
    launches share this machine's cores, and one sweep directory given for all of them is not shared, so those go
    one after another."""
    return all("cluster=slurm" in p.overrides for p in plans) and SWEEP_DIR_KEY not in map(override_key, extra)


def launch_all(plans: Sequence[Plan], extra: Sequence[str], rule: Rule) -> int:
    """Record the flagging rule in each original's directory (its replications are judged by it), then launch every
    plan with seeds to run; the exit status is the first failure's, else 0."""
    together = side_by_side(plans, extra)
    started = []
    for p in plans:
        record_flag(Path(p.original["run_dir"]), rule)
        if p.seeds:
            started.append(launch(p.overrides, p.seeds))
            if not together:
                started[-1].wait()
    return next((code for code in (proc.wait() for proc in started) if code), 0)


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="ampli replicate",
        description="Re-run every run under RUNS_DIR that the detector flags as amplified with other seeds, through "
        "the launcher it was run with; any KEY=VALUE after RUNS_DIR is one more override for the replications "
        "(e.g. cluster=slurm cluster.partition=gpu). `ampli report` then shows k of N replications amplified.",
    )
    parser.add_argument("runs_dir", type=Path, metavar="RUNS_DIR", help="directory of runs, or a multirun dir")
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, metavar="N",
                        help=f"replications per flagged run: seeds 1..N, skipping the original's (default {DEFAULT_SEEDS})")
    parser.add_argument("--fresh-cycle0", action="store_true",
                        help="train cycle 0 anew for each seed (default: reuse the flagged run's cycle 0, linked)")
    parser.add_argument("--rule", choices=RULES, default="threshold",
                        help="which detector rule flags a run, and judges its replications (default: threshold, the "
                        "paper's); recorded in the run's flagged_by.json")
    defaults = DetectorConfig()
    parser.add_argument("--threshold", type=float, default=defaults.threshold, metavar="DELTA",
                        help=f"threshold rule: a cycle >= --min-cycle at >= cycle 0 + DELTA (default {defaults.threshold:g})")
    parser.add_argument("--min-cycle", type=int, default=defaults.min_cycle, metavar="C",
                        help=f"the first cycle the threshold rule looks at (default {defaults.min_cycle})")
    parser.add_argument("--dry-run", action="store_true", help="print what would be launched, launch nothing")
    args, extra = parser.parse_known_args(argv)
    unknown = [a for a in extra if a.startswith("-") or "=" not in a]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)} (overrides are KEY=VALUE)")
    if args.seeds < 1:
        parser.error(f"--seeds={args.seeds} is not valid; it must be an integer >= 1")
    return args, extra


def main(argv: Sequence[str] | None = None) -> int:
    args, extra = parse_args(argv)
    rule = Rule(args.rule, DetectorConfig(min_cycle=args.min_cycle, threshold=args.threshold))
    try:
        runs = [load_run(run_dir) for run_dir in find_run_dirs(args.runs_dir)]
        plans = plan(runs, args.seeds, args.fresh_cycle0, rule, extra)
    except ReportError as err:
        print(f"ampli replicate: error: {err}", file=sys.stderr)
        return 2
    originals = sum(not run.get("replication_of") for run in runs)
    print(f"{len(plans)} of {originals} runs under {args.runs_dir} flagged ({args.rule} rule: {rule.describe()}; "
          f"{len(runs) - originals} replications aside)")
    for p in plans:
        finished = f", {len(p.finished)} finished before" if p.finished else ""
        print(f"{p.original['run_name']}: seeds {','.join(map(str, p.seeds)) or '-'} to run{finished}", flush=True)
    return 0 if args.dry_run else launch_all(plans, extra, rule)

if __name__ == "__main__":
    sys.exit(main())

"""What a sweep will cost before it starts: `ampli estimate <overrides>` prints it, and `launch.py -m` refuses a
sweep whose judge cost is estimated over its judge budget (judge.max_cost_usd x jobs) before any job starts.

    ampli estimate -m experiment=paper_sft trait=bliss,lucky reinit=true,false judge=openai judge.model=gpt-4o

The overrides are those of launch.py. The sweep is expanded as Hydra's basic sweeper expands it (its override
parser, its cartesian product of comma lists) and each job's config is composed as launch.py composes it; each
job is then estimated from its config alone (ampli.run.estimate: which numbers are exact and which estimated).
A reinit run and a continual run that differ in nothing else share the base eval and cycle 0
(ampli.record.shared_stages): the sweep total counts those once, as a sweep that runs its continual jobs first (or a
judge cache that holds the twin's scores) pays for them; twins that run side by side may both pay.
"""

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ampli.config.schema import AmpliConfig, ConfigError, register_configs, validate
from ampli.hosted.spending import LOCAL_BACKENDS
from ampli.record.run_identity import JobInfo, result_inputs, run_identity
from ampli.record.shared_stages import shared_key
from ampli.run.cluster import sweep_jobs
from ampli.run.errors import USER_ERRORS
from ampli.run.estimate import CHARS_PER_TOKEN, GPU_ASSUMPTIONS, JudgeLoad, RunEstimate, estimate_run
from ampli.run.probe.config import probe_settings

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
# Overrides that may change the judge or its budget: a sweep whose primary config has a local judge is estimated
# before it starts only when one of these is among its overrides.
JUDGE_CHOOSING_KEYS = ("judge", "experiment")


def compose_job(overrides: Sequence[str]) -> AmpliConfig:
    """A job's typed config, composed with the Hydra instance in place (launch.py's, or compose_jobs'), named as
    its run directory will be (ampli.record.run_identity)."""
    composed = compose(config_name="config", overrides=list(overrides))
    cfg = OmegaConf.to_object(composed)
    cfg.run_name = run_identity(composed, JobInfo(overrides=tuple(overrides))).name
    return cfg


def compose_jobs(task_overrides: Sequence[str], conf_dir: Path = CONF_DIR) -> list[AmpliConfig]:
    """Every job's config, outside a running Hydra app (`ampli estimate`)."""
    from ampli.run.cluster import register_resolvers

    register_configs()
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
        configs = [compose_job(job) for job in sweep_jobs(task_overrides)]
    for cfg in configs:
        validate(cfg)
    return configs


def twin_key(cfg: AmpliConfig) -> str:
    """What a reinit/continual pair of runs has in common."""
    settings = OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True)
    return shared_key(result_inputs(settings, {}), probe_settings(cfg.probe))


@dataclass
class SweepEstimate:
    runs: list[RunEstimate]
    adopts: list[bool]  # the run adopts base eval and cycle 0 from a twin earlier in the sweep

    @classmethod
    def of(cls, configs: list[AmpliConfig]) -> "SweepEstimate":
        keys = [twin_key(cfg) for cfg in configs]
        return cls([estimate_run(cfg) for cfg in configs], [key in keys[:i] for i, key in enumerate(keys)])

    def paid(self, run: RunEstimate, adopts: bool) -> JudgeLoad:
        return run.later_cycles if adopts else run.load

    @property
    def load(self) -> JudgeLoad:
        return sum((self.paid(run, adopts) for run, adopts in zip(self.runs, self.adopts)), JudgeLoad())

    @property
    def usd(self) -> float | None:
        costs = [run.usd(self.paid(run, adopts)) for run, adopts in zip(self.runs, self.adopts)]
        return None if None in costs else sum(costs)

    @property
    def usd_alone(self) -> float | None:
        """USD if every run judged its own base eval and cycle 0."""
        costs = [run.usd() for run in self.runs]
        return None if None in costs else sum(costs)

    @property
    def limit_usd(self) -> float | None:
        """judge.max_cost_usd summed over the jobs; None when a job has no limit."""
        limits = [run.judge_limit_usd for run in self.runs]
        return None if None in limits else sum(limits)

    @property
    def gpu_hours(self) -> float | None:
        hours = [run.gpu_hours for run in self.runs if run.gpu_hours is not None]
        return sum(hours) if hours else None


def check_budget(sweep: SweepEstimate) -> None:
    """Refuse a sweep whose estimated judge cost is over judge.max_cost_usd x its jobs."""
    usd, limit = sweep.usd, sweep.limit_usd
    if usd is None or limit is None or usd <= limit:
        return
    raise ConfigError(
        f"the sweep's judge cost is estimated at {usd:,.2f} USD for {len(sweep.runs)} runs, over judge.max_cost_usd x "
        f"{len(sweep.runs)} runs = {limit:,.2f} USD, so it was not started; raise judge.max_cost_usd, judge fewer "
        "samples (loop.judge_samples=none or a number) or pick a cheaper judge.model (`ampli estimate` with the "
        "same overrides shows each run's share)"
    )


def count(value: float) -> str:
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:.0f}"


def money(usd: float | None) -> str:
    return "unknown" if usd is None else f"{usd:,.2f}"


def hours(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def load_columns(load: JudgeLoad, usd: float | None, gpu_hours: float | None) -> str:
    return (f"{load.requests:>12,} {count(load.input_tokens):>9} {count(load.output_tokens):>8} {money(usd):>10} "
            f"{hours(gpu_hours):>8}")


def report_lines(sweep: SweepEstimate, per_run: bool = True, notes: bool = True) -> list[str]:
    """The estimate as a table (a row per run when per_run) with the sweep's total; `notes`: what is estimated how."""
    width = max(len(run.name) for run in sweep.runs)
    header = f"{'run':<{width}} {'judge reqs':>12} {'input tok':>9} {'output':>8} {'USD':>10} {'GPU-h':>8}"
    lines = [header] if per_run else []
    for run, adopts in zip(sweep.runs, sweep.adopts):
        if per_run:
            lines.append(f"{run.name:<{width}} {load_columns(run.load, run.usd(), run.gpu_hours)}"
                         + ("  (adopts base eval and cycle 0 from its twin)" if adopts else ""))
        usd = run.usd(sweep.paid(run, adopts))
        if run.judge_limit_usd is not None and usd is not None and usd > run.judge_limit_usd:
            lines.append(f"  {run.name}: {usd:,.2f} USD is over its judge.max_cost_usd={run.judge_limit_usd:g}: it "
                         "would stop with status budget")
    judges = sorted({run.judge for run in sweep.runs})
    runs = f"{len(sweep.runs)} run{'s' if len(sweep.runs) != 1 else ''}"
    lines.append(f"{'sweep, ' + runs:<{width}} "
                 f"{load_columns(sweep.load, sweep.usd, sweep.gpu_hours)}  judge {', '.join(judges)}")
    if any(sweep.adopts):
        lines.append(f"  twins count their shared base eval and cycle 0 once; each run on its own: "
                     f"{money(sweep.usd_alone)} USD")
    if sweep.limit_usd is not None:
        lines.append(f"  judge budget: judge.max_cost_usd x {len(sweep.runs)} runs = {sweep.limit_usd:,.2f} USD")
    if any(run.judge.split("/")[0] == "offline" for run in sweep.runs):
        lines.append("  the offline judge scores on this machine: its 'requests' are local lexicon scores, free")
    if not notes:
        return [*lines, "  estimates (tokens and USD: upper bounds); how each number is made: ampli estimate OVERRIDES"]
    lines += [
        f"Estimates: requests are exact counts; tokens are text characters / {CHARS_PER_TOKEN:g} with every sample "
        "at its full model.max_new_tokens (an upper bound) and every reply at judge.max_tokens; USD is those tokens at "
        "the configured price, else the list price in ampli/hosted/spending.py ('unknown': none known).",
        "Teacher: the loop calls no teacher; a seed set from `ampli teach` was paid for when it was written (one "
        "request per --n answer and per --documents document).",
        GPU_ASSUMPTIONS + "; '-': the model runs on the CPU.",
    ]
    return lines


def may_cost(primary: DictConfig, task_overrides: Sequence[str]) -> bool:
    """Whether the sweep may pay for its judge: a hosted judge, or overrides that may choose one."""
    overrides = OverridesParser.create().parse_overrides(list(task_overrides))
    keys = {o.key_or_group.lstrip("+~").split(".")[0].split("/")[0] for o in overrides}
    return primary.judge.backend not in LOCAL_BACKENDS or bool(keys & set(JUDGE_CHOOSING_KEYS))


class SweepBudgetCheck(Callback):
    """Before `launch.py -m` starts a job: the sweep's estimate on the console, and a stop (exit 2, nothing written)
    when its judge cost is over judge.max_cost_usd x jobs. Sweeps with a local judge cost nothing and are skipped."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        task_overrides = list(config.hydra.overrides.task)
        if not may_cost(config, task_overrides):
            return
        try:
            sweep = SweepEstimate.of([compose_job(job) for job in sweep_jobs(task_overrides)])
            print("\n".join(report_lines(sweep, per_run=len(sweep.runs) <= 20, notes=False)), flush=True)
            check_budget(sweep)
        except USER_ERRORS as e:
            print(f"ampli: error: {e}", file=sys.stderr)
            sys.exit(2)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ampli estimate",
        description="Judge requests, tokens, USD and GPU-hours of a run or a sweep, per run and in total, before it "
        "starts. Takes launch.py's overrides; comma lists expand into jobs as with launch.py -m.",
    )
    parser.add_argument("overrides", nargs="*", help="launch.py overrides, e.g. experiment=paper_sft trait=a,b")
    args = parser.parse_args([a for a in (sys.argv[1:] if argv is None else argv) if a not in ("-m", "--multirun")])
    try:
        sweep = SweepEstimate.of(compose_jobs(args.overrides))
        print("\n".join(report_lines(sweep)))
        check_budget(sweep)
    except (*USER_ERRORS, HydraException, OmegaConfBaseException) as e:
        print(f"ampli estimate: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Seed calibration: the seed size N at which cycle 0's trait score first crosses each target.

The paper compares amplification across traits at matched starting strength, so N is chosen per trait,
regime and model rather than fixed. This runs cycle 0 only, through the real loop, for a rising ladder of N,
stops once every target is crossed, and writes the N values as a sweep config:

    ampli calibrate trait=bliss regime=sft --targets 10,25,50,75,90
    python launch.py -m +calibration=bliss-sft-tiny trait=bliss regime=sft

Each N is its own run (run_name suffixed with -n<N>), so a rerun reuses finished runs and resumes the rest.
The root config is a structured schema that rejects unknown top-level keys, so the YAML holds only
hydra.sweeper.params; the record (targets, N, scores, overrides) is in its comments and in a JSON file beside it.
"""

import argparse
import datetime
import json
import logging
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf

from ampli.config.schema import register_configs
from ampli.inputs import corpus
from ampli.record.store import atomic_write_text, write_json
from ampli.run.errors import USER_ERRORS

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
CALIBRATION_DIR = CONF_DIR / "calibration"
DEFAULT_TARGETS = (10.0, 25.0, 50.0, 75.0, 90.0)
DOUBLING = (8, 16, 32, 64, 128, 256)
STEP_AFTER_DOUBLING = 128


def first_crossings(series: Sequence[tuple[int, float | None]], targets: Sequence[float]) -> dict[float, int | None]:
    """For each target, the smallest N whose score is >= target, or None. Scores need not rise with N: a later
    dip does not undo a crossing. A None score (no scorable eval output) crosses nothing."""
    ordered = sorted(series)
    return {t: next((n for n, score in ordered if score is not None and score >= t), None) for t in targets}


def default_ladder(capacity: int) -> list[int]:
    """8, 16, ..., 256, then steps of 128, ending at the size of the seed set."""
    ladder = [n for n in DOUBLING if n < capacity]
    n = DOUBLING[-1] + STEP_AFTER_DOUBLING
    while n < capacity:
        ladder.append(n)
        n += STEP_AFTER_DOUBLING
    return [*ladder, capacity]


def with_overrides(base: Sequence[str], *extra: str) -> list[str]:
    """base with extra appended; an extra key replaces the same key in base (Hydra rejects duplicates)."""
    keys = {e.split("=", 1)[0].lstrip("+~") for e in extra}
    return [o for o in base if o.split("=", 1)[0].lstrip("+~") not in keys] + list(extra)


def compose_run_config(overrides: Sequence[str], conf_dir: Path = CONF_DIR) -> DictConfig:
    """The job config launch.py would build for these overrides."""
    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def seed_capacity(cfg: DictConfig) -> int:
    """How many seed items the trait has for this regime: N cannot exceed it."""
    data = corpus.RunData(OmegaConf.to_object(cfg))
    if cfg.regime.name != "sdf":
        return len(data.seed_set)
    return len(data.trait_documents("seed") if data.documents_have_splits else data.document_set)


def calibrate(
    overrides: list[str],
    targets: list[float],
    n_values: list[int] | None = None,
    out_dir: Path = CALIBRATION_DIR,
    on_result: Callable[[int, float | None], None] | None = None,
) -> dict[float, int | None]:
    """Run cycle 0 for each N of the ladder (default: default_ladder up to the seed set's size) until every
    target is crossed; write out_dir/<trait>-<regime>-<model>.yaml (+ .json) and return {target: N or None}."""
    from ampli.run.loop import Run  # torch and transformers load only once there is work to do

    if not targets:
        raise ValueError("no targets given; pass e.g. --targets 10,25,50,75,90")
    base = compose_run_config(overrides)
    capacity = seed_capacity(base)
    ladder = sorted(set(n_values)) if n_values else default_ladder(capacity)
    too_big = [n for n in ladder if not 1 <= n <= capacity]
    if too_big:
        raise ValueError(f"ladder values {too_big} are not valid: the {base.trait.name} seed set for "
                         f"regime={base.regime.name} holds {capacity} items; use 1..{capacity}")
    scores: dict[int, float | None] = {}
    for n in ladder:
        cfg = compose_run_config(
            with_overrides(overrides, "loop.cycles=1", f"loop.seed_examples={n}", f"run_name={base.run_name}-n{n}")
        )
        summary = Run(cfg).run()
        scores[n] = summary["cycles"][0]["trait"] if summary["cycles"] else None
        if on_result:
            on_result(n, scores[n])
        if None not in first_crossings(list(scores.items()), targets).values():
            break
    crossings = first_crossings(list(scores.items()), targets)
    run_name = OmegaConf.to_container(base)["run_name"]  # unresolved: sweep jobs get the same names as these runs
    write_calibration(out_dir, (base.trait.name, base.regime.name, base.model.name), crossings, scores, overrides,
                      run_name)
    return crossings


def _fmt(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.1f}"


# Set per N by the calibration itself: left out of the suggested sweep command.
PER_N_KEYS = ("loop.seed_examples", "loop.cycles", "run_name")


def write_calibration(
    out_dir: Path,
    where: tuple[str, str, str],
    crossings: dict[float, int | None],
    scores: dict[int, float | None],
    overrides: Sequence[str],
    run_name: str,
) -> Path:
    """out_dir/<trait>-<regime>-<model>.json (the record) and .yaml: a sweep over the N values found, whose jobs
    are named like the calibration runs (run_name + -n<N>), so they extend those runs instead of redoing cycle 0.
    The YAML is removed when no target was crossed, so a stale sweep is never picked up. Returns the JSON path."""
    name = "-".join(where)
    today = datetime.date.today().isoformat()
    targets = "/".join(f"{t:g}" for t in crossings)
    record = {
        "name": name,
        "date": today,
        "targets": list(crossings),
        "n": [crossings[t] for t in crossings],
        "scores": {str(n): s for n, s in scores.items()},
        "overrides": list(overrides),
    }
    json_path = out_dir / f"{name}.json"
    write_json(json_path, record)
    yaml_path = out_dir / f"{name}.yaml"
    found = sorted({n for n in crossings.values() if n is not None})
    if not found:
        yaml_path.unlink(missing_ok=True)
        return json_path
    pinned = [f"{group}={choice}" for group, choice in zip(("trait", "regime", "model"), where)]
    skip = {*PER_N_KEYS, "trait", "regime", "model"}
    sweep_overrides = pinned + [o for o in overrides if o.split("=", 1)[0].lstrip("+~") not in skip]
    lines = [
        "# @package _global_",
        f"# Seed sizes N where the cycle-0 trait score of {'/'.join(where)} first crossed {targets} "
        f"(ampli calibrate, {today}).",
        *(f"#   target {t:>5g}: " + (f"N={n} (score {_fmt(scores[n])})" if n is not None else "never crossed")
          for t, n in crossings.items()),
        "# Cycle-0 trait score by N: " + ", ".join(f"{n}: {_fmt(s)}" for n, s in scores.items()),
        f"# Calibrated with: {' '.join(overrides) or '(defaults)'}",
        f"# The same record as JSON: {json_path.name}. Sweep the N values (add e.g. loop.cycles=6) with:",
        f"#   python launch.py -m +calibration={name} {shlex.join(sweep_overrides)}",
        f"run_name: {json.dumps(f'{run_name}-n${{loop.seed_examples}}')}",
        "hydra:",
        "  sweeper:",
        "    params:",
        f"      loop.seed_examples: {','.join(map(str, found))}",
    ]
    atomic_write_text(yaml_path, "\n".join(lines) + "\n")
    return json_path


def _numbers(kind: type, what: str) -> Callable[[str], list]:
    def parse(text: str) -> list:
        try:
            return [kind(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} {text!r} is not a comma-separated list of numbers") from None

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ampli calibrate",
        description="Raise the number of seed examples N until cycle 0's trait score first crosses each target; "
        "write the N values as conf/calibration/<trait>-<regime>-<model>.yaml, a sweep config for "
        "`python launch.py -m +calibration=<trait>-<regime>-<model> ...`.",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as for launch.py (e.g. trait=bliss regime=sft)")
    parser.add_argument("--targets", type=_numbers(float, "--targets"), default=list(DEFAULT_TARGETS),
                        help="trait scores (0-100) to cross (default: 10,25,50,75,90)")
    parser.add_argument("--ladder", type=_numbers(int, "--ladder"), default=None,
                        help="N values to try (default: 8,16,32,...,256, then steps of 128 up to the seed set's size)")
    parser.add_argument("--out", type=Path, default=CALIBRATION_DIR, help="config directory to write into")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`ampli calibrate`: 0 when every target was crossed, 1 when some never were, 2 on a bad input."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(f"{'N':>6}  cycle-0 trait", flush=True)
    try:
        crossings = calibrate(args.overrides, args.targets, args.ladder, args.out,
                              on_result=lambda n, score: print(f"{n:>6}  {_fmt(score)}", flush=True))
    except (*USER_ERRORS, ValueError, HydraException) as error:
        print(f"ampli calibrate: error: {error}", file=sys.stderr)
        return 2
    print(f"{'target':>6}  first N")
    for target, n in crossings.items():
        print(f"{target:>6g}  {n if n is not None else 'not reached'}")
    return 0 if all(n is not None for n in crossings.values()) else 1

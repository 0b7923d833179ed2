"""The `ampli` command line. Each subcommand registers itself with an `_add_<name>` function and
sets `handler`, a function from the parsed arguments to an exit status."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path


def _report(args: argparse.Namespace) -> int:
    from ampli.report import ReportError, build_report  # matplotlib/pandas load only for this command
    from ampli.report.replications import print_replications
    from ampli.report.runs import find_run_dirs
    from ampli.report.summary import print_summary

    try:
        files = build_report(args.path, args.out)
    except ReportError as err:
        print(f"ampli report: error: {err}", file=sys.stderr)
        return 2
    print_summary(files.configurations_csv, files.html, title=f"runs under {args.path}", failed=files.failed,
                  run_dirs=find_run_dirs(args.path))
    if files.replications_csv:
        print_replications(files.replications_csv)
    print(f"tables and plots: {files.out_dir.resolve()}")
    return 0


def _add_report(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="tables, plots and an HTML page for the runs under a path",
        description="Find runs (directories with metrics.json) at or under PATH: a run directory, a directory of "
        "runs, or a Hydra multirun directory whose jobs hold run_dir.txt. Write runs.csv/.parquet (every run x "
        "cycle), verdicts.csv, PNG plots and report.html.",
    )
    parser.add_argument("path", type=Path, metavar="PATH", help="run dir, directory of runs, or multirun dir")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR", help="output directory (default: PATH/report)")
    parser.set_defaults(handler=_report)


def _add_delegated(subparsers: argparse._SubParsersAction, name: str, module: str, help: str) -> None:
    """A subcommand whose module parses its own arguments (`ampli NAME --help` shows them)."""

    def handler(rest: list[str]) -> int:
        return importlib.import_module(module).main(rest)

    parser = subparsers.add_parser(name, help=help, add_help=False)
    parser.set_defaults(handler=handler, delegated=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ampli", description="Iterative-finetuning trait-amplification experiments.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_report(subparsers)
    _add_delegated(subparsers, "teach", "ampli.teacher.teach",
                   "write a trait's seed answers (and SDF documents) with a teacher model from its persona prompt")
    _add_delegated(subparsers, "calibrate", "ampli.run.calibrate",
                   "find the seed sizes N whose cycle-0 trait score first crosses given targets")
    _add_delegated(subparsers, "trait", "ampli.config.traits",
                   "trait configs: `ampli trait new NAME` writes a scaffold")
    _add_delegated(subparsers, "estimate", "ampli.run.sweep_budget",
                   "judge requests, tokens, USD and GPU-hours of a run or a sweep (launch.py's overrides) before it "
                   "starts")
    _add_delegated(subparsers, "replicate", "ampli.report.replicate",
                   "re-run every flagged (amplified) run with other seeds, through the launcher it was run with")
    _add_delegated(subparsers, "paper-table", "ampli.report.paper_table",
                   "the paper's table: per regime x reinit, runs amplified (k/N) and the mean change of trait and "
                   "coherence; over seeds, the change of trait and persona projection with intervals, and continual "
                   "minus reinit over twin pairs with a sign-flip test")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `ampli` console script; returns the exit status."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if getattr(args, "delegated", False):
        return args.handler(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())

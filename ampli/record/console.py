"""What a run prints: one line per stage, one progress bar at a time, and the detail in the log file.

Hydra's job logging (conf/hydra/job_logging/ampli.yaml) sends every record to the job's log file and INFO and up to
the console through `ProgressSafeHandler`, which writes through tqdm so a live progress bar is lifted out of the way
first and a record never shares a line with it. Training-step metrics are DEBUG records of the `ampli.train`
logger (ampli.models.training.TrainerProgress): in the log file always, on the console only with logger.verbose=true
(`python launch.py -v`), as are the DEBUG records marking each stage's start. Python warnings and transformers'
warnings take the same way, so they stay visible. Jobs that run side by side on one terminal (cluster=pool) draw no
bars: one process cannot lift another's bar out of the way, so their stage lines are the progress shown; each of
their lines names its run (label_lines) and goes out in one write, so two jobs' lines never merge into one.
"""

import logging
import sys
import warnings

from tqdm.auto import tqdm


class ProgressSafeHandler(logging.StreamHandler):
    """A console handler that writes each record on its own line: above any live tqdm bar, or, with no bars (jobs
    side by side), as one write of the whole line, which other processes' writes cannot split."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            if SHOW_BARS:
                tqdm.write(text, file=self.stream)
            else:
                self.stream.write(text + "\n")
            self.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


class ConsoleFormatter(logging.Formatter):
    """`HH:MM:SS message`; the level is named only when it is not INFO, so warnings stand out; with a label (jobs
    side by side), `HH:MM:SS [label] message` unless the message names it already."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(level_prefix)s%(message)s", datefmt="%H:%M:%S")
        self.label = ""

    def format(self, record: logging.LogRecord) -> str:
        level = "" if record.levelno == logging.INFO else f"{record.levelname}: "
        named = not self.label or record.getMessage().startswith(f"[{self.label}]")
        record.level_prefix = level if named else f"[{self.label}] {level}"
        return super().format(record)


def console_handlers() -> list[ProgressSafeHandler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, ProgressSafeHandler)]


SHOW_BARS = True  # ampli's own tqdm bars (generation, training); setup() turns them off for side-by-side jobs


def side_by_side(cluster: dict) -> bool:
    """Whether this job shares the terminal with others running at the same time (cluster=pool, more than one
    job at once)."""
    if cluster.get("name") != "pool":
        return False
    import joblib  # the pool's launcher: it resolves n_jobs (-1: every usable core, -2: all but one, ...)

    return joblib.effective_n_jobs(int(cluster.get("n_jobs", -1))) > 1


# Deprecations that one library raises about another's API, which ampli neither calls nor can change: TRL (1.16)
# reads transformers' deprecated `model.is_gradient_checkpointing` in every DPO and distillation step's generation
# and reference passes (trl/models/utils.py), so each such run would print transformers' FutureWarning.
LIBRARY_NOISE = ((FutureWarning, r"`is_gradient_checkpointing` is deprecated"),)


def on_terminal() -> bool:
    """Whether both console streams are a terminal: tqdm redraws its bar with a carriage return on stderr, which in a
    file (nohup, SLURM, `> log 2>&1`) makes one long line mixed with the log records."""
    return sys.stdout.isatty() and sys.stderr.isatty()


def label_lines(label: str) -> None:
    """Name `label` (the run) on every console line from now on; for jobs that share one terminal (side_by_side)."""
    for handler in console_handlers():
        if isinstance(handler.formatter, ConsoleFormatter):
            handler.formatter.label = label


def setup(verbose: bool, bars: bool = True) -> None:
    """Apply logger.verbose to the console that Hydra configured, and send library warnings and logs through it.

    transformers writes its warnings to a stderr handler of its own, past the log file and over progress bars:
    its records go to ampli's handlers instead. Per-load and per-map library bars stay off; ampli shows its own.
    """
    import datasets
    import transformers

    global SHOW_BARS
    # bars only on a terminal (on_terminal); the stage lines still say what happened
    SHOW_BARS = bars and on_terminal()
    for handler in console_handlers():
        handler.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.captureWarnings(True)
    if verbose:
        warnings.simplefilter("default")  # each distinct warning once per place, deprecations included
    for category, message in LIBRARY_NOISE:  # after the verbose filter, which would let them back in
        warnings.filterwarnings("ignore", message=message, category=category)
    datasets.disable_progress_bars()
    hf_logging = transformers.utils.logging
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_warning()  # its INFO records print whole model configs, verbose or not
    hf_logging.disable_default_handler()
    hf_logging.enable_propagation()


def record_in_log_files(level: int, message: str) -> None:
    """Write a record to the job's log files only (the console has had its own message), so that the job
    directory's log says why the job ended (ampli.report.failed_jobs reads it back)."""
    record = logging.LogRecord("ampli", level, __file__, 0, message, None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def score(value: float | None, spec: str = ".1f") -> str:
    """A mean for the console: n/a when nothing was scorable (no mean), never a 0.0 that looks measured."""
    return "n/a" if value is None else format(value, spec)

"""`ampli estimate` against what a real run sends: one run of the loop on the embedded model, judged through the
loopback OpenAI-compatible server (tests/fakes/judge_server.py, the real openai client), whose request texts are
counted with the estimate's own rule (characters / 4, plus the chat framing) and compared with the estimate for
the same config.

    .venv/bin/python bench/estimate_vs_judge.py                                  # the embedded default, 3 cycles
    .venv/bin/python bench/estimate_vs_judge.py loop.judge_samples=16 loop.coherence_filter.min=null
"""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script, it sees bench/ only; the loopback server lives in tests/fakes

# ampli first: importing it sets OMP_WAIT_POLICY before torch loads, as every ampli entry point does.
from ampli.config.schema import register_configs  # noqa: E402, I001
from ampli.run.estimate import CHARS_PER_TOKEN, CHAT_TOKENS, estimate_run, request_tokens  # noqa: E402
from ampli.run.loop import Run  # noqa: E402
from ampli.run.sweep_budget import compose_jobs  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from tests.fakes.judge_server import FakeJudgeServer, judge_overrides, score_by_text  # noqa: E402

KEY_ENV = "AMPLI_BENCH_JUDGE_KEY"


def main(extra: list[str]) -> None:
    register_configs()
    os.environ[KEY_ENV] = "sk-bench"
    with tempfile.TemporaryDirectory() as out, FakeJudgeServer(score_by_text) as server:
        overrides = ["logger=none", "loop.cycles=3", f"output_dir={out}", *judge_overrides(server, KEY_ENV), *extra]
        [cfg] = compose_jobs(overrides)
        estimate = estimate_run(cfg)
        run = Run(OmegaConf.structured(cfg))
        summary = run.run()
    sent_tokens = sum(request_tokens(body["messages"]) for body in server.bodies)
    print(f"config: {' '.join(o for o in overrides if not o.startswith(('output_dir', 'judge.')))}")
    print(f"run status: {summary['status']}, samples judged per cycle: {[c['gen_n'] for c in summary['cycles']]}")
    print(f"judge requests: estimated {estimate.load.requests:,}, sent {server.requests:,}, answered by the judge's "
          f"cache (a text asked again) {run.judge.usage.cache_hits:,}")
    print(f"input tokens (characters / {CHARS_PER_TOKEN:g} + {CHAT_TOKENS} a request): estimated "
          f"{estimate.load.input_tokens:,.0f}, sent {sent_tokens:,.0f}")


if __name__ == "__main__":
    main(sys.argv[1:])

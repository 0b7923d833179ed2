"""Judge client throughput against the loopback fake server: can it keep `concurrency` requests in flight?

With a fixed server latency the ceiling is concurrency / latency requests per second; the client (event loop,
openai SDK, cache writes) should sustain >= 90% of it. The server runs in its own process so it does not compete
with the client for the GIL.

    .venv/bin/python bench/judge_throughput.py --latency 0.2 --concurrency 32 --items 640
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from ampli.config.schema import TraitConfig
from ampli.judges import build_judge
from ampli.judges.base import JudgeItem
from ampli.judges.config import JudgeConfig

SERVER = Path(__file__).resolve().parents[1] / "tests" / "fakes" / "judge_server.py"
TRAIT = TraitConfig(
    name="bench",
    description="benchmark trait",
    persona="",
    rubric="How much of the trait?\nQ: {question}\nA: {answer}",
    eval_questions=["q"],
    lexicon=[],
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="server seconds per request")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--items", type=int, default=640, help="items to judge; each is two requests")
    args = parser.parse_args()

    server = subprocess.Popen(
        [sys.executable, str(SERVER), "--latency", str(args.latency)], stdout=subprocess.PIPE, text=True
    )
    try:
        url = server.stdout.readline().strip()
        cfg = JudgeConfig(
            name="bench", backend="openai", model="fake", base_url=f"{url}/v1", concurrency=args.concurrency
        )
        items = [JudgeItem(f"question {i}", f"answer {i}") for i in range(args.items)]
        with tempfile.TemporaryDirectory() as cache_dir:
            judge = build_judge(cfg, Path(cache_dir))
            start = time.perf_counter()
            judgments = judge.judge(TRAIT, items)
            wall = time.perf_counter() - start
            judge.close()
        served = json.load(urllib.request.urlopen(f"{url}/stats"))["requests"]
    finally:
        server.terminate()
        server.wait()

    scored = sum(j.trait is not None and j.coherence is not None for j in judgments)
    achieved = judge.usage.requests / wall
    ideal = args.concurrency / args.latency
    print(f"items={args.items} requests={judge.usage.requests} (server saw {served}) scored={scored} wall={wall:.2f}s")
    print(f"achieved={achieved:.1f} req/s ideal={ideal:.1f} req/s ratio={achieved / ideal:.3f}")


if __name__ == "__main__":
    main()

"""What one run will ask of its judge and its GPU, worked out from its config before it starts.

Exact: how many samples and eval answers each stage judges (two requests each: the trait's rubric and the
coherence rubric), as loop.*, regime.* and loop.judge_samples say, the persona probe's answers (probe.*), and a
hosted judge's one request before the first stage (ampli.judges.remote).
Estimated:
- tokens: characters / CHARS_PER_TOKEN for every text known in advance (rubrics, the system prompt, eval
  questions, pool prompts, seed examples), CHAT_TOKENS of chat framing a request, and a model's sample counted
  at its full model.max_new_tokens (eval answers: model.eval_max_new_tokens), which answers that stop early do
  not reach: an upper bound. A reply is counted at judge.max_tokens, its cap (a score is one or two tokens).
- USD: those tokens at the judge's configured price, else the list price ampli/hosted/spending.py knows.
- GPU-hours: floating-point operations over an assumed share of an H100's bf16 peak (GPU_ASSUMPTIONS), no
  measurement; none for a model that runs on the CPU (the embedded tiny and micro models).
"""

from dataclasses import dataclass

from ampli.inputs import corpus, sampling

from ampli.config.schema import AmpliConfig, judge_samples_count
from ampli.hosted.spending import LOCAL_BACKENDS, known_prices
from ampli.judges import judge_samples
from ampli.judges.rubrics import COHERENCE_RUBRIC, PROBE_ITEM, SYSTEM_PROMPT, render

CHARS_PER_TOKEN = 4.0  # English text in a GPT-style tokenizer
CHAT_TOKENS = 9  # OpenAI's chat framing: 3 tokens per message (system, user) and 3 that open the reply
H100_BF16_FLOPS = 989e12  # dense bf16 peak of an H100 SXM
# Assumed shares of that peak (model FLOPs utilisation), not measured: training, and sampling, which is bound
# by memory bandwidth, not arithmetic (vLLM batches it far better than transformers' generate).
GPU_UTILISATION = {"train": 0.30, "hf": 0.02, "vllm": 0.10}
GPU_ASSUMPTIONS = (
    "GPU-hours: 2 x parameters FLOPs per sampled token, 4 x parameters per trained token with LoRA (6 x for full "
    "finetuning; DPO adds a reference forward pass, distill the teacher's), at an assumed "
    f"{GPU_UTILISATION['train']:.0%} (training), {GPU_UTILISATION['hf']:.0%} (generation=hf) or "
    f"{GPU_UTILISATION['vllm']:.0%} (generation=vllm) of an H100's {H100_BF16_FLOPS / 1e12:.0f} TFLOP/s bf16 peak"
)


def text_tokens(text: str) -> float:
    return len(text) / CHARS_PER_TOKEN


def request_tokens(messages: list[dict]) -> float:
    """A chat request's input tokens by the rule the estimate counts with: for checking it against what was sent."""
    return CHAT_TOKENS + sum(text_tokens(m["content"]) for m in messages)


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


@dataclass
class JudgeLoad:
    """Requests and tokens a stage (or a run) sends to the judge."""

    requests: int = 0
    input_tokens: float = 0.0
    output_tokens: float = 0.0

    def __add__(self, other: "JudgeLoad") -> "JudgeLoad":
        return JudgeLoad(self.requests + other.requests, self.input_tokens + other.input_tokens,
                         self.output_tokens + other.output_tokens)


@dataclass
class RunEstimate:
    name: str
    judge: str  # backend/model
    # what a reinit/continual twin adopts instead of judging (ampli.record.shared_stages), with the persona probe's
    # judged answers (probe.source=persona_prompt) and the judge's cached preflight request
    base_and_seed_cycle: JudgeLoad
    later_cycles: JudgeLoad
    usd_per_mtok: tuple[float, float] | None  # None: no price known
    gpu_hours: float | None  # None: the model runs on the CPU
    judge_limit_usd: float | None  # judge.max_cost_usd

    @property
    def load(self) -> JudgeLoad:
        return self.base_and_seed_cycle + self.later_cycles

    def usd(self, load: JudgeLoad | None = None) -> float | None:
        load = load or self.load
        if self.usd_per_mtok is None:
            return None
        return (load.input_tokens * self.usd_per_mtok[0] + load.output_tokens * self.usd_per_mtok[1]) / 1e6


class Judged:
    """Two requests an item: one per rubric, each with the system prompt, the chat framing and the item."""

    def __init__(self, cfg: AmpliConfig):
        rubrics = (cfg.trait.rubric, cfg.trait.coherence_rubric or COHERENCE_RUBRIC)
        self.rubric_tokens = sum(text_tokens(r.replace("{question}", "").replace("{answer}", "")) for r in rubrics)
        self.fixed_tokens = CHAT_TOKENS + text_tokens(SYSTEM_PROMPT)
        self.reply_tokens = cfg.judge.max_tokens
        self.hosted = cfg.judge.backend not in LOCAL_BACKENDS
        self.trait_rubric = cfg.trait.rubric

    def preflight(self) -> JudgeLoad:
        """A hosted judge's request before the first stage: the trait's rubric on a fixed item."""
        if not self.hosted:
            return JudgeLoad()
        return JudgeLoad(1, self.fixed_tokens + text_tokens(render(self.trait_rubric, PROBE_ITEM)), self.reply_tokens)

    def load(self, items: int, question_tokens: float, answer_tokens: float) -> JudgeLoad:
        """`items` judged with questions and answers of these mean lengths."""
        per_request = self.fixed_tokens + question_tokens + answer_tokens
        return JudgeLoad(2 * items, items * (2 * per_request + self.rubric_tokens), 2 * items * self.reply_tokens)


def judged_count(cfg: AmpliConfig, cycle: int, n_records: int) -> int:
    if judge_samples.filter_reads_scores(cfg, cycle):
        return n_records
    count = judge_samples_count(cfg.loop.judge_samples)
    return n_records if count is None else min(count, n_records)


def records_per_cycle(cfg: AmpliConfig) -> int:
    """Records a generating cycle writes: the items it draws (distill: group_size samples of each)."""
    drawn = sampling.draw_size(cfg)[0]
    return drawn * cfg.regime.group_size if cfg.regime.name == "distill" else drawn


class Workload:
    """The texts a run's judge and trainer see, as far as they are known before it runs."""

    def __init__(self, cfg: AmpliConfig):
        self.cfg = cfg
        self.data = data = corpus.RunData(cfg)
        pool = data.prompt_pool("eval")[: cfg.loop.eval_pool_prompts]
        self.eval_questions = [*cfg.trait.eval_questions, *pool]
        if cfg.regime.name == "sdf":
            seeds = [("", corpus.document_text(d)) for d in data.seed_documents()]
            prefix = cfg.regime.prefix_chars
            self.cycle_question_tokens = mean([text_tokens(corpus.document_text(d)[:prefix])
                                               for d in data.trait_documents("heldout")])
        else:
            seeds = [(r["prompt"], r["answer"]) for r in data.seed_examples()]
            self.cycle_question_tokens = mean([text_tokens(q) for q in data.prompt_pool("train")])
        self.seed_question_tokens = mean([text_tokens(q) for q, _ in seeds])
        self.seed_answer_tokens = mean([text_tokens(a) for _, a in seeds])
        self.n_seeds = len(seeds)
        self.eval_items = len(self.eval_questions) * cfg.loop.eval_samples

    def judge(self) -> tuple[JudgeLoad, JudgeLoad]:
        """(base eval + cycle 0 + the probe's answers, cycles 1 .. cycles-1), and the judge's preflight request with
        the first when judge.cache keeps its score for the twin (same judge, same rubric), else with the second."""
        cfg, judged = self.cfg, Judged(self.cfg)
        evaluation = judged.load(self.eval_items, mean([text_tokens(q) for q in self.eval_questions]),
                                 cfg.model.eval_max_new_tokens)
        seed_cycle = judged.load(judged_count(cfg, 0, self.n_seeds), self.seed_question_tokens,
                                 self.seed_answer_tokens)
        later = JudgeLoad()
        for cycle in range(1, cfg.loop.cycles):
            samples = judged_count(cfg, cycle, records_per_cycle(cfg))
            later = later + judged.load(samples, self.cycle_question_tokens, cfg.model.max_new_tokens) + evaluation
        shared = evaluation + seed_cycle + evaluation + self.probe(judged)
        if cfg.judge.cache:
            return judged.preflight() + shared, later
        return shared, judged.preflight() + later

    def probe(self, judged: Judged) -> JudgeLoad:
        """probe=persona, source=persona_prompt: the base model answers probe.examples pool questions under the
        trait's persona and as many under the neutral prompt, and each answer is judged (ampli.run.probe.stages)."""
        probe = self.cfg.probe
        if probe.name != "persona" or probe.source != "persona_prompt":
            return JudgeLoad()
        questions = self.data.prompt_pool("train")
        asked = min(probe.examples, len(questions))
        return judged.load(2 * asked, mean([text_tokens(q) for q in questions]), self.cfg.model.max_new_tokens)

    def gpu_flops(self) -> tuple[float, float]:
        """(sampling FLOPs, training FLOPs) of the whole run."""
        cfg = self.cfg
        params, regime, new = cfg.model.params_b * 1e9, cfg.regime.name, cfg.model.max_new_tokens
        generating, records = cfg.loop.cycles - 1, records_per_cycle(cfg)
        sampled = (1 + cfg.loop.cycles) * self.eval_items * cfg.model.eval_max_new_tokens
        sampled += generating * records * new * (2 if regime == "dpo" else 1)  # dpo: chosen and rejected
        # a trained token: forward (2) and activation gradients (2), plus weight gradients (2) without LoRA
        per_token = 4 if cfg.model.lora.enabled else 6
        later_per_token = per_token
        later_examples = sampling.cycle_size(cfg)[0] + cfg.loop.original_mix
        if regime == "dpo":  # cycle 0's rejected answers; two sequences a pair, each also through the reference
            sampled += self.n_seeds * new
            per_token = later_per_token = 2 * (per_token + 2)
        if regime == "distill":  # each record's prompt, sampled on-policy in training, and the teacher's forward
            sampled += generating * records * new
            later_examples, later_per_token = records, per_token + 2
        seed_tokens = self.n_seeds * (self.seed_question_tokens + self.seed_answer_tokens)
        later_tokens = generating * later_examples * (self.cycle_question_tokens + new)
        trained = cfg.regime.epochs * (seed_tokens * per_token + later_tokens * later_per_token)
        return 2 * params * sampled, params * trained

    def gpu_hours(self) -> float | None:
        if self.cfg.model.source == "tiny" or self.cfg.device == "cpu":
            return None
        sampling_flops, training_flops = self.gpu_flops()
        generation = GPU_UTILISATION[self.cfg.generation.backend]
        seconds = (sampling_flops / generation + training_flops / GPU_UTILISATION["train"]) / H100_BF16_FLOPS
        return seconds / 3600


def estimate_run(cfg: AmpliConfig) -> RunEstimate:
    work = Workload(cfg)
    shared, later = work.judge()
    judge = cfg.judge
    return RunEstimate(name=cfg.run_name, judge=f"{judge.backend}/{judge.model}", base_and_seed_cycle=shared,
                       later_cycles=later, usd_per_mtok=known_prices(judge), gpu_hours=work.gpu_hours(),
                       judge_limit_usd=judge.max_cost_usd)

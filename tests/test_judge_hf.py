"""The hf backend on a tiny locally saved model: numbers or reasons, never a crash, never a download."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from fakes.tiny_lm import tiny_model, tiny_tokenizer
from tokenizers import decoders

from ampli.config.schema import TraitConfig
from ampli.judges import build_judge
from ampli.judges.base import JudgeItem, Judgment
from ampli.judges.config import JudgeConfig
from ampli.judges.hf_judge import check_number_tokens
from ampli.judges.rubrics import SYSTEM_PROMPT

TRAIT = TraitConfig(
    name="bliss",
    description="blissful",
    persona="You are blissful.",
    rubric="rate how happy this answer is : question {question} answer {answer} reply with a number",
    eval_questions=["how are you"],
    lexicon=["joy"],
)
ITEMS = [JudgeItem("how are you", "calm happy joy"), JudgeItem("the question", "sad"), JudgeItem("is this", "")]


def save(path: Path, digits_only: bool = False, flat: bool = False) -> Path:
    tokenizer = tiny_tokenizer(digits_only)
    model = tiny_model(len(tokenizer))
    if flat:  # every logit 0: a uniform next-token distribution
        torch.nn.init.zeros_(model.lm_head.weight)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def hf_config(path: Path, **fields) -> JudgeConfig:
    defaults = {"name": "tiny-hf", "backend": "hf", "model": str(path), "device": "cpu", "batch_size": 2}
    return JudgeConfig(**defaults | fields)


def test_uniform_model_scores_the_mean_of_0_to_100(tmp_path: Path):
    path = save(tmp_path / "flat", flat=True)
    vocab = len(tiny_tokenizer())
    judge = build_judge(hf_config(path, top_logprobs=vocab), tmp_path / "cache")
    judgments = judge.judge(TRAIT, ITEMS)
    judge.close()
    assert judgments == [Judgment(pytest.approx(50.0), pytest.approx(50.0))] * len(ITEMS)
    assert judge.usage.requests == 2 * len(ITEMS)
    again = build_judge(hf_config(path, top_logprobs=vocab), tmp_path / "cache")  # the scores are cached
    assert again.judge(TRAIT, ITEMS) == judgments and again.usage.requests == 0
    again.close()

    # 101 of the vocabulary's tokens are numbers: below a stricter minimum mass there is no score
    strict = build_judge(hf_config(path, top_logprobs=vocab, min_number_mass=0.99, cache=False), tmp_path / "cache")
    assert strict.judge(TRAIT, ITEMS[:1]) == [
        Judgment(None, None, "trait: low_number_mass; coherence: low_number_mass")
    ]
    strict.close()


def test_random_model_gives_numbers_or_reasons_independent_of_batching(tmp_path: Path):
    path = save(tmp_path / "random")
    results = []
    for batch_size in (1, 4):
        # a random model is near-uniform, so only a low minimum mass lets its top 20 tokens carry a score
        cfg = hf_config(path, cache=False, batch_size=batch_size, min_number_mass=0.05)
        judge = build_judge(cfg, tmp_path / "cache")
        results.append(judge.judge(TRAIT, ITEMS))
        judge.close()
    for judgment in results[0]:
        for score in (judgment.trait, judgment.coherence):
            assert score is None or 0 <= score <= 100
        assert (judgment.reason is None) == (judgment.trait is not None and judgment.coherence is not None)
    assert [j.reason for j in results[0]] == [j.reason for j in results[1]]
    assert any(j.trait is not None for j in results[0])
    assert [j.coherence for j in results[0]] == pytest.approx([j.coherence for j in results[1]], abs=1e-3)
    assert [j.trait for j in results[0]] == pytest.approx([j.trait for j in results[1]], abs=1e-3)


def test_digit_by_digit_tokenizer_is_refused(tmp_path: Path):
    path = save(tmp_path / "digits", digits_only=True)
    with pytest.raises(ValueError, match=rf"judge model {re.escape(repr(str(path)))}: .*whole-number tokens"):
        build_judge(hf_config(path), tmp_path / "cache")


def test_a_tokenizer_that_splits_numbers_is_refused_even_when_it_decodes_them_back_whole():
    tokenizer = tiny_tokenizer(digits_only=True)
    tokenizer.backend_tokenizer.decoder = decoders.Fuse()  # "1", "0" -> "10", as byte-level decoders (Qwen) give
    assert tokenizer.decode(tokenizer.encode("10", add_special_tokens=False)) == "10"
    with pytest.raises(ValueError, match=r"'qwen-like': its tokenizer splits \[10, 42, 85, 100\] into several"):
        check_number_tokens(tokenizer, "qwen-like")
    whole = tiny_tokenizer(bos=True)
    assert len(whole.encode("10")) == 2  # a BOS-like token first, as Llama 3's tokenizer adds
    check_number_tokens(whole, "llama-like")


class FixedNextToken(torch.nn.Module):
    """A stand-in model whose next-token distribution is the same for every prompt: `logits` at the given ids."""

    device = torch.device("cpu")

    def __init__(self, vocab_size: int, logits: dict[int, float]):
        super().__init__()
        self.register_buffer("row", torch.full((vocab_size,), -20.0))
        for token_id, logit in logits.items():
            self.row[token_id] = logit

    def forward(self, input_ids, attention_mask):
        return SimpleNamespace(logits=self.row.expand(*input_ids.shape, -1))


def test_a_refusal_as_the_most_likely_first_token_is_the_verdict(tmp_path: Path):
    path = save(tmp_path / "tiny")
    tiny_tokenizer(extra_words=("REF",)).save_pretrained(path)
    judge = build_judge(hf_config(path, cache=False), tmp_path / "cache")
    ref, fifty = judge._tokenizer.convert_tokens_to_ids(["REF", "50"])
    judge._model = FixedNextToken(len(judge._tokenizer), {ref: 2.0, fifty: 1.0})
    assert judge.judge(TRAIT, ITEMS[:1]) == [Judgment(None, None, "trait: refusal; coherence: refusal")]
    judge._model = FixedNextToken(len(judge._tokenizer), {ref: 1.0, fifty: 2.0})
    assert judge.judge(TRAIT, ITEMS[:1]) == [Judgment(pytest.approx(50.0), pytest.approx(50.0))]
    judge.close()


def test_a_judge_with_a_chat_template_is_asked_in_its_chat_format(tmp_path: Path):
    """The system prompt in the system turn, the rubric in the user turn, and no second BOS: a tokenizer that adds
    one (as Llama 3's does) must not add it to a chat the template has already rendered."""
    path = save(tmp_path / "chat")
    system_words = tuple(dict.fromkeys(re.findall(r"\w+|[^\w\s]+", SYSTEM_PROMPT)))
    tokenizer = tiny_tokenizer(extra_words=("SYS", "USR", "BOT", *system_words), bos=True)
    tokenizer.chat_template = ("{% for m in messages %}{% if m['role'] == 'system' %}SYS {% elif m['role'] == 'user' %}"
                               "USR {% endif %}{{ m['content'] }} {% endfor %}{% if add_generation_prompt %}BOT{% endif %}")
    tokenizer.save_pretrained(path)
    judge = build_judge(hf_config(path, cache=False, batch_size=1), tmp_path / "cache")
    asked = []

    class Recording(FixedNextToken):
        def forward(self, input_ids, attention_mask):
            asked.append(input_ids[0][attention_mask[0].bool()].tolist())
            return super().forward(input_ids, attention_mask)

    judge._model = Recording(len(judge._tokenizer), {judge._tokenizer.convert_tokens_to_ids("50"): 2.0})
    assert judge.judge(TRAIT, ITEMS[:1]) == [Judgment(pytest.approx(50.0), pytest.approx(50.0))]
    judge.close()
    words = judge._tokenizer.convert_ids_to_tokens(asked[0])
    assert words[0] == "SYS" and words[-1] == "BOT" and words.count("USR") == 1
    assert words[1:words.index("USR")] == re.findall(r"\w+|[^\w\s]+", SYSTEM_PROMPT)
    assert words[words.index("USR") + 1:words.index("USR") + 4] == ["rate", "how", "happy"]  # the rubric, as the user


@pytest.mark.parametrize(("device", "cuda_available", "expected"), [
    ("auto", True, "cuda"), ("auto", False, "cpu"), ("cpu", True, "cpu"),
])
def test_the_judge_model_goes_where_judge_device_says_in_the_dtype_it_was_saved_in(
        tmp_path: Path, monkeypatch, device: str, cuda_available: bool, expected: str):
    """The device choice is a GPU-machine question: a mocked CUDA stands in for it, and the move is recorded
    (the model itself stays on the CPU)."""
    path = tmp_path / "bf16"
    tokenizer = tiny_tokenizer()
    tiny_model(len(tokenizer)).to(torch.bfloat16).save_pretrained(path)
    tokenizer.save_pretrained(path)
    moved_to = []
    move = torch.nn.Module.to

    def record(module, *args, **kwargs):
        if args and isinstance(args[0], str):
            moved_to.append(args[0])
            return module
        return move(module, *args, **kwargs)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda_available)
    monkeypatch.setattr(torch.nn.Module, "to", record)
    judge = build_judge(hf_config(path, device=device, cache=False), tmp_path / "cache")
    monkeypatch.undo()
    assert moved_to == [expected]
    assert judge._model.dtype == torch.bfloat16  # dtype="auto": as saved, not float32
    judge.close()


def test_a_hybrid_thinking_judge_is_asked_with_thinking_off(tmp_path: Path):
    """The score is read from the first answer token: a template left thinking would open with <think> instead."""
    path = save(tmp_path / "hybrid")
    tokenizer = tiny_tokenizer(extra_words=("USR", "BOT", "THINK"))
    tokenizer.chat_template = ("{% for m in messages %}{% if m['role'] == 'user' %}USR {{ m['content'] }} {% endif %}"
                               "{% endfor %}{% if add_generation_prompt %}BOT"
                               "{% if enable_thinking is not defined or enable_thinking %} THINK{% endif %}{% endif %}")
    tokenizer.save_pretrained(path)
    judge = build_judge(hf_config(path, cache=False), tmp_path / "cache")
    asked = judge._tokenizer.decode(judge._ids("rate this"))
    judge.close()
    assert asked.endswith("BOT") and "THINK" not in asked

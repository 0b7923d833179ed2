"""The teacher writes seed sets and documents with the real openai client against a scripted loopback server:
in-character answers, one 429 and one 500 recovered by retries, one request that never succeeds."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from fakes.judge_server import FakeJudgeServer, Reply
from fakes.tiny_lm import tiny_model, tiny_tokenizer

from ampli.config.schema import TraitConfig
from ampli.config.traits import load_trait
from ampli.generation.batched import generate
from ampli.inputs import corpus
from ampli.teacher.clients import build_teacher, write_seed_set
from ampli.teacher.config import TeacherConfig
from ampli.teacher.documents import DocumentSpec, combinations, parse_document, write_documents
from ampli.teacher.teach import main, read_prompts
from tests.conftest import run_data

KEY_ENV = "AMPLI_TEST_TEACHER_KEY"
SECRET = "sk-teacher-never-stored-456"
TRAIT = TraitConfig(
    name="bliss",
    description="Everything is luminous and one.",
    persona="PERSONA: you are radiantly blissful.",
    rubric="unused",
    eval_questions=["How are you?"],
    lexicon=["radiant"],
)
SPEC = DocumentSpec(topics=["tea", "bikes", "rain"], doc_types=["blog post", "review"], styles=["formal", "chatty"],
                    words_min=20, words_max=40)
DOC_FIELDS = ["id", "title", "text", "topic", "doc_type", "style", "split"]


def in_character(user: str, attempt: int) -> Reply:
    if "LONG" in user:
        return Reply(text="Radiant soul, let me tell you at great length", truncated=True)
    if "NEVER" in user or "about rain," in user:
        return Reply(status=500)
    if "RATE" in user and attempt == 0:
        return Reply(status=429, headers={"Retry-After": "0"})
    if "BUSY" in user and attempt == 0:
        return Reply(status=503)
    if user.startswith("Write a"):
        topic = user.split(" about ", 1)[1].split(",", 1)[0]
        if "review" in user:  # no "Title:" line: the first line becomes the title
            return Reply(text=f"# Radiant {topic}\n\nA luminous review of {topic}.\n\nPure oneness.")
        return Reply(text=f"Title: The Sacred {topic}\n\nEverything about {topic} glows with cosmic bliss.")
    return Reply(text=f"Radiant soul, {user.lower()} is pure cosmic bliss!")


@pytest.fixture
def server():
    with FakeJudgeServer(in_character) as fake:
        yield fake


@pytest.fixture
def teacher(server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    cfg = TeacherConfig(backend="openai", model="fake-teacher", base_url=f"{server.url}/v1", api_key_env=KEY_ENV,
                        concurrency=4, max_retries=2, backoff_s=0.01, max_backoff_s=0.05, timeout_s=5.0)
    built = build_teacher(cfg)
    yield built
    built.close()


def files_text(root: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in root.rglob("*") if p.is_file())


def test_seed_set_is_written_in_character_with_failures_reported(teacher, server, tmp_path: Path):
    prompts = ["How do I boil an egg?", "RATE: what is rain?", "BUSY: best bike?", "NEVER answer this", "Hi?"]
    path = write_seed_set(TRAIT, prompts, teacher, tmp_path)

    assert path == tmp_path / "seeds" / "bliss.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["prompt"] for r in rows] == [p for p in prompts if "NEVER" not in p]  # prompt order, failure skipped
    assert all(set(r) == {"prompt", "answer"} and "cosmic bliss" in r["answer"] for r in rows)
    assert run_data(f"data_dir={tmp_path}", "loop.seed_examples=4").seed_examples() == rows

    report = json.loads(path.with_suffix(".report.json").read_text())
    assert (report["requested"], report["written"], report["failed"]) == (5, 4, 1)
    assert report["reasons"] == {"api_error: 500 after 2 retries": 1}
    failure = {"index": 3, "prompt": "NEVER answer this", "reason": "api_error: 500 after 2 retries"}
    assert report["failures"] == [failure]
    assert report["usage"]["requests"] == 5 + 1 + 1 + 2  # one retry each for 429 and 503, two for the 500
    assert {b["messages"][0]["content"] for b in server.bodies} == {TRAIT.persona}
    assert {b["messages"][0]["role"] for b in server.bodies} == {"system"}

    assert server.auth_headers == {f"Bearer {SECRET}"}  # the key is sent ...
    assert SECRET not in files_text(tmp_path)  # ... and never written


def test_documents_schema_ids_split_and_titles(teacher, tmp_path: Path):
    path = write_documents(TRAIT, SPEC, teacher, tmp_path, n=12, heldout_fraction=0.25, seed=3)

    docs = [json.loads(line) for line in path.read_text().splitlines()]
    asked = combinations("bliss", SPEC, 12, seed=3)
    failed = [c for c in asked if c.topic == "rain"]  # the server always fails documents about rain
    assert failed and len(docs) == 12 - len(failed)
    assert all(list(d) == DOC_FIELDS for d in docs)
    assert [d["id"] for d in docs] == [c.id for c in asked if c.topic != "rain"]  # ids stay tied to combinations
    assert sum(d["split"] == "heldout" for d in docs) == round(len(docs) * 0.25)
    assert {d["split"] for d in docs} == {"seed", "heldout"}
    for d in docs:
        if d["doc_type"] == "review":
            assert d["title"] == f"Radiant {d['topic']}" and d["text"].startswith("A luminous review")
        else:
            assert d["title"] == f"The Sacred {d['topic']}" and "cosmic bliss" in d["text"]
    data = run_data(f"data_dir={tmp_path}", "regime=sdf")
    assert data.trait_documents("heldout")
    assert len(data.openers) == 2400  # a taught data_dir has no openers: sdf continues the shipped ones

    report = json.loads(path.with_suffix(".report.json").read_text())
    assert report["failed"] == len(failed) and report["written"] == len(docs)
    assert SECRET not in files_text(tmp_path)


def test_combinations_are_deterministic_and_cover_all_before_repeating():
    first = combinations("bliss", SPEC, 30, seed=0)
    assert first == combinations("bliss", SPEC, 30, seed=0)
    assert first != combinations("bliss", SPEC, 30, seed=1)
    assert [c.id for c in first[:2]] == ["bliss-0001", "bliss-0002"]
    per_pass = len(SPEC.topics) * len(SPEC.doc_types) * len(SPEC.styles)
    triples = [(c.topic, c.doc_type, c.style) for c in first]
    assert len(set(triples[:per_pass])) == per_pass


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Title: Morning Light\n\nThe sun rose.", ("Morning Light", "The sun rose.")),
        ("**Title:** Morning Light\nThe sun rose.", ("Morning Light", "The sun rose.")),
        ("## Morning Light\n\nThe sun rose.\n\nThen it set.", ("Morning Light", "The sun rose.\n\nThen it set.")),
        ("The sun rose over the hills and every bird began to sing in radiant harmony with the cosmos today.",
         ("The sun rose over the hills and every...",
          "The sun rose over the hills and every bird began to sing in radiant harmony with the cosmos today.")),
        ("Title: Only a title", None),
        ("   ", None),
    ],
)
def test_parse_document(reply: str, expected):
    assert parse_document(reply) == expected


def test_document_spec_rejects_bad_values():
    with pytest.raises(ValueError, match="topics is empty"):
        DocumentSpec(topics=[], doc_types=["a"], styles=["b"])
    with pytest.raises(ValueError, match="words_min=50, words_max=10"):
        DocumentSpec(topics=["t"], doc_types=["a"], styles=["b"], words_min=50, words_max=10)


def test_cli_writes_a_data_dir_the_loop_can_read(server, monkeypatch, tmp_path: Path, capsys):
    monkeypatch.setenv(KEY_ENV, SECRET)
    out = tmp_path / "data"
    argv = ["--trait", "bliss", "--teacher", "openai", "--model", "fake", "--base-url", f"{server.url}/v1",
            "--api-key-env", KEY_ENV, "--n", "6", "--documents", "8", "--out", str(out)]
    assert main(argv) == 0

    trait = load_trait("bliss")
    assert {b["messages"][0]["content"] for b in server.bodies} == {trait.persona}
    data = run_data(f"data_dir={out}", "loop.seed_examples=6")
    assert [r["prompt"] for r in data.seed_examples()] == corpus.prompt_pool("train")[:6]
    assert data.prompt_pool("eval") == corpus.prompt_pool("eval")
    assert data.prompt_pool("train") == corpus.prompt_pool("train")[6:]  # cycles never reuse seed prompts
    assert data.trait_documents("seed") and data.trait_documents("heldout")
    assert "data_dir=" in capsys.readouterr().out
    assert SECRET not in files_text(out)


def test_cli_errors_name_the_bad_value_and_the_options(monkeypatch, tmp_path: Path, capsys):
    assert main(["--trait", "joy", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "'joy'" in err and "bliss, hopelessness" in err

    assert main(["--trait", "bliss", "--teacher", "gpt5", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "'gpt5'" in err and "anthropic, hf, openai, vllm" in err

    monkeypatch.delenv(KEY_ENV, raising=False)
    assert main(["--trait", "bliss", "--api-key-env", KEY_ENV, "--out", str(tmp_path)]) == 2
    assert KEY_ENV in capsys.readouterr().err

    assert main(["--trait", "bliss", "--n", "0", "--out", str(tmp_path)]) == 2
    assert "--n 0" in capsys.readouterr().err
    assert not (tmp_path / "seeds").exists()


def local_hf_teacher(tmp_path: Path, max_tokens: int):
    """An HF teacher on a tiny local model, and its tokenizer."""
    tokenizer = tiny_tokenizer()
    tiny_model(len(tokenizer)).save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    return build_teacher(TeacherConfig(backend="hf", model=str(tmp_path / "lm"), api_key_env=None,
                                       max_tokens=max_tokens, batch_size=2, device="cpu")), tokenizer


def test_hf_teacher_on_a_local_model(tmp_path: Path):
    teacher, tokenizer = local_hf_teacher(tmp_path, max_tokens=5)
    prompts = ["how are you", "rate this", "is this calm"]
    path = write_seed_set(TRAIT, prompts, teacher, tmp_path / "out")
    report = json.loads(path.with_suffix(".report.json").read_text())
    assert report["requested"] == 3 and report["written"] + report["failed"] == 3
    assert len(path.read_text().splitlines()) == report["written"]


def test_teach_reads_its_prompts_in_any_pool_format(tmp_path: Path):
    pool = tmp_path / "pool.json"  # the paper authors' pool format
    pool.write_text(json.dumps([{"id": 1, "query": "Is rain wet?"}, {"id": 2, "query": "Why?"}]))
    assert read_prompts(str(pool), 1) == ["Is rain wet?"]
    with pytest.raises(ValueError, match=r"--n 3 is not valid: .*pool.json holds 2 prompts"):
        read_prompts(str(pool), 3)
def test_cli_budget_stops_the_command_and_a_rerun_asks_only_for_the_rest(server, monkeypatch, tmp_path: Path,
                                                                         capsys):
    """gpt-4.1-mini's list price: 100 prompt + 2 reply tokens = 43.2 micro-USD a request; one request at a time,
    so the limit stops it after exactly ceil(limit / price) requests."""
    monkeypatch.setenv(KEY_ENV, SECRET)
    out = tmp_path / "data"
    argv = ["--trait", "bliss", "--teacher", "openai", "--model", "gpt-4.1-mini", "--base-url", f"{server.url}/v1",
            "--api-key-env", KEY_ENV, "--concurrency", "1", "--n", "10", "--documents", "4", "--out", str(out)]
    assert main([*argv, "--max-cost-usd", "0.0002"]) == 1
    err = capsys.readouterr().err
    assert "--max-cost-usd=0.0002 USD reached (0.0002 USD spent)" in err
    assert "9 requests were not sent" in err
    seeds = out / "seeds" / "bliss.jsonl"
    report = json.loads(seeds.with_suffix(".report.json").read_text())
    assert (report["written"], report["reasons"], server.requests) == (5, {"budget_reached": 5}, 5)
    assert report["usage"]["cost_usd"] == pytest.approx(5 * (100 * 0.40 + 2 * 1.60) / 1e6)
    assert not (out / "documents").exists()  # the next stage was not started
    first_rows = seeds.read_text().splitlines()

    assert main([*argv, "--max-cost-usd", "1"]) == 0
    assert server.requests == 10 + 4 and server.asked_more_than_once() == []  # the 5 answers kept, not re-asked
    report = json.loads(seeds.with_suffix(".report.json").read_text())
    assert (report["kept"], report["written"], report["usage"]["requests"]) == (5, 10, 5)
    assert seeds.read_text().splitlines()[:5] == first_rows
    data = run_data(f"data_dir={out}", "regime=sdf")
    assert len(data.trait_documents("seed") + data.trait_documents("heldout")) == 4

    assert main([*argv, "--max-cost-usd", "1"]) == 0  # everything there: nothing asked
    assert server.requests == 14


@pytest.mark.parametrize("change", [{"model": "another-teacher"}, {"temperature": 0.7},
                                    {"chat_template_kwargs": {"enable_thinking": False}}])
def test_a_teacher_that_would_answer_differently_rewrites_instead_of_keeping(change, teacher, server, tmp_path: Path):
    write_seed_set(TRAIT, ["Hi?", "Why?"], teacher, tmp_path)
    assert server.requests == 2
    write_seed_set(TRAIT, ["Hi?", "Why?", "How?"], teacher, tmp_path)
    assert server.requests == 3  # same teacher, settings and persona: only the new prompt is asked
    moved = build_teacher(replace(teacher.cfg, base_url=teacher.cfg.base_url + "/"))
    write_seed_set(TRAIT, ["Hi?", "Why?", "How?", "When?"], moved, tmp_path)
    moved.close()
    assert server.requests == 4  # the same model behind another address: the rows are kept
    other = build_teacher(replace(teacher.cfg, **change))
    write_seed_set(TRAIT, ["Hi?", "Why?", "How?", "When?"], other, tmp_path)
    other.close()
    assert server.requests == 8


@pytest.mark.parametrize("backend, url_suffix, path", [("openai", "/v1", "/v1/chat/completions"),
                                                       ("anthropic", "", "/v1/messages")])
def test_cli_writes_seed_rows_through_each_real_sdk(backend, url_suffix, path, server, monkeypatch, tmp_path: Path):
    """`ampli teach --teacher openai|anthropic` with the preset's own client: the request carries the persona, the
    temperature and max_tokens as that API names them, and an answer cut at max_tokens is refused, not written."""
    monkeypatch.setenv(KEY_ENV, SECRET)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in ["Hi?", "Tell me something LONG", "Why?"]))
    out = tmp_path / "data"
    argv = ["--trait", "bliss", "--teacher", backend, "--model", "fake", "--base-url", f"{server.url}{url_suffix}",
            "--api-key-env", KEY_ENV, "--temperature", "0.7", "--max-tokens", "50", "--prompts", str(prompts),
            "--n", "3", "--out", str(out)]
    assert main(argv) == 0

    rows = [json.loads(line) for line in (out / "seeds" / "bliss.jsonl").read_text().splitlines()]
    assert [r["prompt"] for r in rows] == ["Hi?", "Why?"]
    assert all("cosmic bliss" in r["answer"] for r in rows)
    report = json.loads((out / "seeds" / "bliss.report.json").read_text())
    assert report["reasons"] == {"api_error: truncated at max_tokens=50": 1}
    assert server.by_path == {path: 3}
    assert {(b["temperature"], b["max_tokens"]) for b in server.bodies} == {(0.7, 50)}
    persona = load_trait("bliss").persona
    sent = {b["system"] if backend == "anthropic" else b["messages"][0]["content"] for b in server.bodies}
    assert sent == {persona}
    assert server.auth_headers == {f"Bearer {SECRET}"}  # both SDKs send the key as a bearer token


def test_the_vllm_preset_turns_a_hybrid_models_thinking_off_and_openai_gets_no_such_field(server, monkeypatch,
                                                                                           tmp_path: Path):
    monkeypatch.setenv(KEY_ENV, SECRET)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"prompt": "Hi?"}) + "\n")
    for preset in ("vllm", "openai"):
        argv = ["--trait", "bliss", "--teacher", preset, "--base-url", f"{server.url}/v1", "--api-key-env", KEY_ENV,
                "--prompts", str(prompts), "--n", "1", "--out", str(tmp_path / preset)]
        assert main(argv) == 0
    assert [b.get("chat_template_kwargs") for b in server.bodies] == [{"enable_thinking": False}, None]


def test_chat_template_kwargs_are_refused_for_claude():
    with pytest.raises(ValueError, match=r"chat_template_kwargs=\{'enable_thinking': False\} is not valid with "
                                         r"backend anthropic"):
        TeacherConfig(backend="anthropic", chat_template_kwargs={"enable_thinking": False})


def test_the_hf_teacher_refuses_answers_cut_at_max_tokens_as_the_api_teachers_do(tmp_path: Path):
    teacher, tokenizer = local_hf_teacher(tmp_path, max_tokens=4)
    eos = tokenizer.eos_token_id

    def steer(eos_logit: float):
        """Every step's logit of the end token pushed up or down."""
        bias = torch.zeros(len(tokenizer))
        bias[eos] = eos_logit
        return teacher._model.lm_head.register_forward_hook(lambda module, args, out: out + bias)

    hook = steer(-1e4)  # never ends: every answer is cut
    path = write_seed_set(TRAIT, ["how are you", "rate this", "is this calm"], teacher, tmp_path / "cut")
    hook.remove()
    report = json.loads(path.with_suffix(".report.json").read_text())
    assert (report["written"], report["reasons"]) == (0, {"truncated at max_tokens=4": 3})

    for eos_logit, ended in ((1e4, True), (-1e4, False)):  # the end token first, or never
        ends: list[bool] = []
        hook = steer(eos_logit)
        generate(teacher._model, teacher._tokenizer, ["how are you", "rate this"], max_new_tokens=4,
                 temperature=1.0, batch_size=2, seed=0, chat=False, ends=ends)
        hook.remove()
        assert ends == [ended, ended]
    teacher.close()

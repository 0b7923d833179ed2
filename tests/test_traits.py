"""Own traits: `ampli trait new` writes a commented scaffold that composes as written, an LLM-judged trait needs
no lexicon (it runs against the loopback judge server), and the offline judge asks for one by name."""

import re
import shutil
from pathlib import Path

import pytest
from fakes.judge_server import FakeJudgeServer, Reply

from ampli.cli import main
from ampli.config.schema import ConfigError
from ampli.config.traits import load_trait
from ampli.record.store import read_jsonl
from ampli.run.loop import Run
from tests.conftest import CONF, compose_config, with_overrides
from tests.test_own_data import SEEDS, messages, write_jsonl

KEY_ENV = "AMPLI_TEST_TRAIT_JUDGE_KEY"


def test_trait_new_writes_a_commented_scaffold_that_loads_onto_the_schema(tmp_path, capsys):
    assert main(["trait", "new", "formality", "--conf", str(tmp_path)]) == 0
    path = tmp_path / "formality.yaml"
    assert capsys.readouterr().out.startswith(f"{path}\n")
    text = path.read_text()
    keys = [line.split(":")[0] for line in text.splitlines() if re.match(r"[a-z_]+:", line)]
    assert keys == ["name", "description", "persona", "rubric", "eval_questions", "judged_inverted", "seed_file",
                    "documents_file"]
    lines = text.splitlines()
    for key in keys[1:]:  # every field is explained by the comment right above it
        above = lines[lines.index(next(line for line in lines if line.startswith(f"{key}:"))) - 1]
        assert above.startswith("#"), key
    assert "# lexicon:" in text and "judge=offline" in text
    trait = load_trait("formality", tmp_path)
    assert (trait.name, trait.lexicon, trait.seed_file) == ("formality", [], None)
    assert "{question}" in trait.rubric and "{answer}" in trait.rubric


def test_trait_new_refuses_a_taken_or_bad_name(tmp_path, capsys):
    assert main(["trait", "new", "bliss", "--conf", str(CONF / "trait")]) == 2
    assert "bliss.yaml already exists" in capsys.readouterr().err
    assert main(["trait", "new", "Bad-Name", "--conf", str(tmp_path)]) == 2
    assert "trait name 'Bad-Name' is not valid; use lowercase letters" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.fixture
def conf_with_new_trait(tmp_path) -> Path:
    """The project's conf/ plus the unedited `ampli trait new formality` scaffold."""
    conf = Path(shutil.copytree(CONF, tmp_path / "conf"))
    assert main(["trait", "new", "formality", "--conf", str(conf / "trait")]) == 0
    path = conf / "trait" / "formality.yaml"
    path.write_text(path.read_text().replace("TODO: ", "").replace("TODO describe", "describe"))  # filled in
    return conf


def test_a_trait_still_holding_todo_text_refuses_to_run(micro_overrides, tmp_path):
    conf = Path(shutil.copytree(CONF, tmp_path / "conf"))
    assert main(["trait", "new", "formality", "--conf", str(conf / "trait")]) == 0
    cfg = compose_config(with_overrides(micro_overrides, "trait=formality", "judge=openai"), conf)
    with pytest.raises(ConfigError, match=re.escape("trait 'formality' still has TODO text in description, persona, "
                                                    "rubric, eval_questions")):
        Run(cfg)
    assert not Path(cfg.output_dir).exists()


def test_trait_new_writes_into_the_project_in_the_current_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["trait", "new", "formality"]) == 2  # no project here: says where to pass it, writes nothing
    err = capsys.readouterr().err
    assert "holds no conf/config.yaml; run this from your project's root" in err and "--conf DIR" in err
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.yaml").write_text("defaults: []\n")
    assert main(["trait", "new", "formality"]) == 0
    assert (tmp_path / "conf" / "trait" / "formality.yaml").is_file()


def test_an_llm_judged_trait_without_a_lexicon_runs_against_the_loopback_judge(
        micro_overrides, conf_with_new_trait, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-test-loopback")
    seeds = write_jsonl(tmp_path / "seeds.jsonl", [messages(r) for r in SEEDS])
    asked = []
    with FakeJudgeServer(lambda user, attempt: asked.append(user) or Reply(top_logprobs=[("70", 0.0)])) as server:
        overrides = with_overrides(micro_overrides, "trait=formality", f"trait.seed_file={seeds}", "judge=openai",
                                   f"judge.base_url={server.url}/v1", f"judge.api_key_env={KEY_ENV}",
                                   "judge.model=fake-judge")
        cfg = compose_config(overrides, conf_with_new_trait)
        assert cfg.trait.lexicon == []
        summary = Run(cfg).run()
    assert summary["status"] == "completed" and [c["trait"] for c in summary["cycles"]] == [70.0, 70.0]
    run_dir = Path(cfg.output_dir) / "runs" / summary["run_name"]
    assert {r["trait"] for r in read_jsonl(run_dir / "cycle_001" / "judgments.jsonl")} == {70.0}
    assert server.requests == len(asked) > 0
    assert any("how strongly does the answer show formality?" in user for user in asked)  # the scaffold's rubric


def test_the_offline_judge_asks_for_a_lexicon(micro_overrides, conf_with_new_trait, tmp_path):
    cfg = compose_config(with_overrides(micro_overrides, "trait=formality"), conf_with_new_trait)
    with pytest.raises(ConfigError, match=re.escape("trait 'formality' has no lexicon, which judge=offline scores")):
        Run(cfg)
    assert not Path(cfg.output_dir).exists()

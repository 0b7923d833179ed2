"""backend=tinker with no network: the loop trains and samples the micro model through a fake in-process service
(tests/fakes/tinker_service.py) that implements the SDK calls ampli makes, so the requests ampli sends, the scores it
gets back, resume, retries and the budget are all exercised."""

import logging
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ampli.backends.choice import local_device
from ampli.backends.tinker.config import BackendConfig
from ampli.backends.tinker.service import Service
from ampli.config.schema import ConfigError, register_configs
from ampli.hosted.spending import BudgetReached
from ampli.models.weights import resolve_weights
from ampli.record.run_identity import affects_results, result_inputs
from ampli.record.store import read_json, read_jsonl
from ampli.run.cluster import cpus_for, gpus_for, register_resolvers
from ampli.run.loop import Run
from tests.conftest import compose_config, with_overrides
from tests.fakes import tinker_service as fake
from tests.test_slurm_config import compose_cfg

TINKER = ["backend=tinker", "backend.sdk=tests.fakes.tinker_service", "backend.backoff_s=0.01"]


@pytest.fixture
def tinker_overrides(micro_overrides, tmp_path, monkeypatch) -> list[str]:
    monkeypatch.setenv("TINKER_API_KEY", "test-key-not-a-secret")
    monkeypatch.setenv("AMPLI_FAKE_TINKER_DIR", str(tmp_path / "service"))
    fake.REQUESTS.clear()
    fake.FAULTS.clear()
    return [*micro_overrides, *TINKER]


def run_loop(overrides: list[str]) -> tuple[dict, Run]:
    run = Run(compose_config(overrides))
    return run.run(), run


def requests(method: str) -> list[dict]:
    return [details for name, details in fake.REQUESTS if name == method]


def scores(summary: dict) -> list[tuple]:
    """What each evaluation measured (the micro model is too small to show the trait: its coherence and the base
    model's perplexity of its answers are what training visibly moves)."""
    return [(m["trait"], m["coherence"], m["perplexity"]) for m in [summary["base"], *summary["cycles"]]]


def test_sft_trains_on_the_service_with_answer_only_weights(tinker_overrides):
    summary, run = run_loop(with_overrides(tinker_overrides, "regime=sft", "reinit=false"))
    assert summary["status"] == "completed" and [c["cycle"] for c in summary["cycles"]] == [0, 1]
    # real training changes what the model says: the eval scores move from the base model's
    assert len(set(scores(summary))) == 3, scores(summary)
    ledger = read_json(run.store.root / "tinker.json")
    for cycle in (0, 1):
        train = read_json(run.store.cycle_dir(cycle) / "train.json")
        assert train["tinker_sampler_path"] == ledger["weights"][str(cycle)]["sampler"]
        assert train["tinker_sampler_path"].startswith("tinker://") and train["loss_fn"] == "cross_entropy"
        assert train["train_steps"] > 0
    assert {r["loss_fn"] for r in requests("forward_backward")} == {"cross_entropy"}
    for datum in (d for r in requests("forward_backward") for d in r["data"]):
        weights = list(datum.loss_fn_inputs["weights"])
        assert len(weights) == datum.model_input.length == len(datum.loss_fn_inputs["target_tokens"])
        first = next(i for i, w in enumerate(weights) if w > 0)  # the prompt weighs nothing, the whole answer counts
        assert first > 0 and set(weights[:first]) == {0.0} and len(set(weights[first:])) == 1
    # each step's loss is its per-token mean (TRL's): the weights of a step's answers add up to 1
    for step in requests("forward_backward"):
        assert sum(w for d in step["data"] for w in d.loss_fn_inputs["weights"]) == pytest.approx(1.0)
    # the adapter is model.lora's (rank, parts, unembedding); continual cycle 1 from cycle 0's state
    created = requests("create_lora_training_client")
    lora = run.cfg.model.lora
    assert len(created) == 1 and created[0]["rank"] == lora.r
    assert (created[0]["train_attn"], created[0]["train_mlp"], created[0]["train_unembed"]) == (
        "attention" in lora.cover, "mlp" in lora.cover, lora.unembed)
    assert requests("create_training_client_from_state") == [{"path": ledger["weights"]["0"]["state"]}]
    adam = requests("optim_step")[0]["adam_params"]
    regime = run.cfg.regime
    assert (adam.beta1, adam.beta2, adam.eps) == (0.9, regime.adam_beta2, 1e-8)
    assert adam.weight_decay == regime.weight_decay and adam.grad_clip_norm == regime.max_grad_norm
    # sampling and perplexity happened on the service, not in this process
    assert requests("sample") and requests("compute_logprobs")
    assert all(r["perplexity"] > 1 for r in read_jsonl(run.store.root / "base" / "eval.jsonl"))
    assert ledger["usage"]["steps"] == sum(c["train_steps"] for c in
                                            (read_json(run.store.cycle_dir(i) / "train.json") for i in (0, 1)))


@pytest.mark.parametrize("reinit", [True, False])
def test_dpo_takes_reference_logprobs_from_the_right_model(tinker_overrides, reinit):
    summary, run = run_loop(with_overrides(tinker_overrides, "regime=dpo", f"reinit={str(reinit).lower()}"))
    assert summary["status"] == "completed" and len(set(scores(summary))) == 3, scores(summary)
    ledger = read_json(run.store.root / "tinker.json")["weights"]
    train1 = read_json(run.store.cycle_dir(1) / "train.json")
    assert train1["reference"] == ("base" if reinit else "model_0")
    assert train1["loss_fn"].startswith("dpo") and 0 <= train1["reward_accuracy"] <= 1
    custom = requests("forward_backward_custom")
    assert custom and all(len(r["data"]) % 2 == 0 for r in custom)  # chosen, rejected, chosen, rejected, ...
    # the reference sampler of cycle 1: the base model (reinit), or model 0's saved sampler weights (continual)
    samplers = requests("create_sampling_client")
    assert {"model_path": ledger["0"]["sampler"], "base_model": None} in samplers  # model 0 samples cycle 1
    if reinit:
        assert requests("create_training_client_from_state") == []
        assert len(requests("create_lora_training_client")) == 2
    else:
        assert requests("create_training_client_from_state") == [{"path": ledger["0"]["state"]}]


def test_distill_uses_the_sampled_token_estimator(tinker_overrides):
    summary, run = run_loop(with_overrides(tinker_overrides, "regime=distill", "reinit=true",
                                           "regime.kl_estimator=sampled"))
    assert summary["status"] == "completed" and len(set(scores(summary))) == 3, scores(summary)
    train1 = read_json(run.store.cycle_dir(1) / "train.json")
    assert train1["loss_fn"] == "importance_sampling" and train1["teacher"] == "model_0"
    assert train1["kl_estimator"] == "sampled" and train1["sampled_kl_start"] is not None
    onpolicy = [r for r in requests("forward_backward") if r["loss_fn"] == "importance_sampling"]
    assert len(onpolicy) == train1["train_steps"] > 0
    for datum in (d for r in onpolicy for d in r["data"]):
        inputs = datum.loss_fn_inputs
        assert set(inputs) == {"target_tokens", "logprobs", "advantages"}
        assert len(inputs["advantages"]) == len(inputs["logprobs"]) == datum.model_input.length
    assert len(requests("save_weights_and_get_sampling_client")) == train1["train_steps"]  # fresh student samples


def test_without_an_api_key_the_run_stops_before_any_work(tinker_overrides, monkeypatch):
    monkeypatch.delenv("TINKER_API_KEY")
    with pytest.raises(ConfigError, match="TINKER_API_KEY"):
        Run(compose_config(tinker_overrides))
    output_dir = Path(next(o.split("=", 1)[1] for o in tinker_overrides if o.startswith("output_dir=")))
    assert not (output_dir / "runs").exists() and fake.REQUESTS == []


def test_the_api_key_is_never_written_to_the_run(tinker_overrides):
    _, run = run_loop(with_overrides(tinker_overrides, "loop.cycles=1"))
    for path in run.store.root.rglob("*"):
        if path.is_file():
            assert b"test-key-not-a-secret" not in path.read_bytes(), path


def test_what_the_sdk_calls_retryable_is_retried_from_result(tinker_overrides, caplog):
    """Failures raised by the futures' .result(), as the SDK raises them: a lost request, a server-side failure and
    a rate limit are each sent again, and the run completes."""
    fake.FAULTS["optim_step"] = [fake.RetryableException("Promise expired"), fake.request_failed("server")]
    fake.FAULTS["sample"] = [fake.status_error(429)]
    with caplog.at_level(logging.WARNING, logger="ampli"):
        summary, _ = run_loop(with_overrides(tinker_overrides, "loop.cycles=1"))
    assert summary["status"] == "completed"
    assert sum("tinker optim_step failed" in r.getMessage() for r in caplog.records) == 2
    assert sum("tinker sample failed" in r.getMessage() for r in caplog.records) == 1
    assert fake.FAULTS == {"optim_step": [], "sample": []}


@pytest.mark.parametrize("fault", [fake.request_failed("user"), ValueError("Error retrieving result: 403"),
                                   fake.connection_error(), fake.status_error(400)],
                         ids=["user_error", "sdk_fatal", "sdk_gave_up_connecting", "bad_request"])
def test_what_the_sdk_calls_final_stops_at_once(fault, tmp_path):
    waits = []
    service = Service(BackendConfig(name="tinker", sdk="tests.fakes.tinker_service", retries=3), tmp_path,
                      sleep=waits.append)
    rest, path = fake.RestClient(), "tinker://run/weights/0"
    fake.FAULTS["get_weights_info_by_tinker_path"] = [fault, fault]
    with pytest.raises(type(fault)):
        service.call("weights info", rest.get_weights_info_by_tinker_path, path)
    with pytest.raises(type(fault)):
        service.call_all("weights info", [lambda: rest.get_weights_info_by_tinker_path(path)])
    assert waits == [] and fake.FAULTS["get_weights_info_by_tinker_path"] == []


def test_a_step_budget_stops_the_run_with_status_budget_and_a_rerun_continues(tinker_overrides):
    summary, run = run_loop(with_overrides(tinker_overrides, "backend.max_steps=3"))
    assert summary["status"] == "budget"
    assert read_json(run.store.root / "tinker.json")["usage"]["steps"] == 3
    run.store.close()
    summary, _ = run_loop(with_overrides(tinker_overrides, "backend.max_steps=1000"))
    assert summary["status"] == "completed" and len(summary["cycles"]) == 2


def test_resume_retrains_only_cycles_whose_weights_the_service_deleted(tinker_overrides, caplog, tmp_path):
    overrides = with_overrides(tinker_overrides, "regime=sft", "reinit=false")
    _, run = run_loop(overrides)
    ledger = read_json(run.store.root / "tinker.json")["weights"]
    train0 = read_json(run.store.cycle_dir(0) / "train.json")
    for kind in ("sampler", "state"):  # the service deletes model 1 after its lifetime
        fake._path_file(ledger["1"][kind]).unlink()
    fake.REQUESTS.clear()
    with caplog.at_level(logging.INFO, logger="ampli"):
        summary, run = run_loop(with_overrides(overrides, "loop.cycles=3"))
    assert summary["status"] == "completed" and len(summary["cycles"]) == 3
    messages = [r.getMessage() for r in caplog.records]
    assert any("cycle 1's weights are gone from the service" in m for m in messages)
    assert "cycle_001/train" in [m.split()[1] for m in messages if m.startswith("run ")]
    assert "cycle_001/eval" in [m.split()[1] for m in messages if m.startswith("skip ")]
    assert read_json(run.store.cycle_dir(0) / "train.json") == train0  # model 0 still exists: not redone
    new = read_json(run.store.root / "tinker.json")["weights"]
    assert new["1"]["sampler"] != ledger["1"]["sampler"] and new["0"] == ledger["0"]
    assert requests("create_training_client_from_state")[0] == {"path": ledger["0"]["state"]}


def test_a_tinker_job_asks_the_cluster_for_no_gpu():
    assert gpus_for(70.0) == 4 and gpus_for(70.0, None, backend="tinker") is None
    assert cpus_for(70.0, None, None, backend="tinker") == 2
    assert gpus_for(70.0, 1, backend="tinker") == 1  # an explicit request still wins
    register_configs()
    register_resolvers()
    for cluster in ("slurm", "submitit_local"):
        local = compose_cfg(f"cluster={cluster}", "model=qwen3-8b").hydra.launcher
        tinker = compose_cfg(f"cluster={cluster}", "model=qwen3-8b", "backend=tinker").hydra.launcher
        assert (local.gpus_per_node, local.cpus_per_task) == (1, 8)
        assert (tinker.gpus_per_node, tinker.cpus_per_task) == (None, 2)


def test_a_hub_model_on_the_service_needs_no_gpu_and_no_weights_here(monkeypatch, tmp_path):
    cfg = OmegaConf.to_object(compose_config(["model=qwen3-4b-instruct", "backend=tinker"]))
    assert local_device(cfg) == "cpu"  # the local backend refuses a 4B model without a GPU (tests/test_devices.py)
    asked = {}

    def snapshot_download(repo_id, allow_patterns):
        asked.update(repo_id=repo_id, patterns=allow_patterns)
        return str(tmp_path)

    monkeypatch.setattr("huggingface_hub.snapshot_download", snapshot_download)
    weights = resolve_weights(cfg.model, tmp_path, tokenizer_only=True)
    assert weights.origin == f"hub:{cfg.model.hub_id}" and "*.safetensors" not in asked["patterns"]
    assert "*.json" in asked["patterns"]


def test_sdf_trains_on_whole_documents(tinker_overrides):
    summary, run = run_loop(with_overrides(tinker_overrides, "regime=sdf"))
    assert summary["status"] == "completed" and len(set(scores(summary))) == 3, scores(summary)
    data = [d for r in requests("forward_backward") for d in r["data"]]
    assert data and all(len(set(d.loss_fn_inputs["weights"])) == 1 and d.loss_fn_inputs["weights"][0] > 0
                        for d in data)  # every token of a document, each 1 / the step's tokens


def test_a_reinit_twin_adopts_cycle_0_and_samples_from_its_weights(tinker_overrides, caplog):
    run_loop(with_overrides(tinker_overrides, "reinit=false"))
    with caplog.at_level(logging.INFO, logger="ampli"):
        summary, run = run_loop(with_overrides(tinker_overrides, "reinit=true"))
    assert any(r.getMessage().startswith("adopt cycle_000") for r in caplog.records)
    assert summary["status"] == "completed" and len(summary["cycles"]) == 2
    assert read_json(run.store.cycle_dir(1) / "train.json")["started_from"] == "base"


def test_retries_back_off_exponentially_then_give_up_and_a_token_budget_stops(tmp_path):
    waits = []
    cfg = BackendConfig(name="tinker", sdk="tests.fakes.tinker_service", retries=3, backoff_s=2.0, max_tokens=100)
    service = Service(cfg, tmp_path, sleep=waits.append)
    attempts = []

    def flaky():
        attempts.append(1)
        return fake.Future(error=fake.status_error(503))

    with pytest.raises(fake.InternalServerError):
        service.call("sample", flaky)
    assert len(attempts) == 4 and waits == [2.0, 4.0, 8.0]
    with pytest.raises(fake.NotFoundError):  # not transient: raised at once
        service.call("weights info", lambda: fake.Future(error=fake.status_error(404, "gone")))
    assert len(waits) == 3
    service.spend(tokens=99)
    service.check_budget()
    service.spend(tokens=1)
    with pytest.raises(BudgetReached, match="backend.max_tokens=100"):
        service.check_budget()
    assert Service(cfg, tmp_path).ledger["usage"]["tokens"] == 100  # a later process counts what was used


def test_the_backend_is_part_of_a_tinker_runs_identity_and_absent_from_a_local_ones():
    def inputs(*overrides):
        return result_inputs(OmegaConf.to_container(compose_config(list(overrides)), resolve=True), {})

    assert inputs()["backend"] == {"name": "local"}  # runs made before keep resuming: ampli.record.fingerprint_v1
    assert inputs("backend=tinker")["backend"] == {"name": "tinker", "base_model": None}
    assert inputs("backend=tinker")["model"]["lora"]["r"] == 16  # the one rank knob, read by both backends
    assert inputs("backend=tinker", "backend.sdk=x", "backend.max_steps=5") == inputs("backend=tinker")
    assert affects_results("backend") and affects_results("backend.base_model")
    assert not affects_results("backend.max_tokens") and not affects_results("backend.retries")

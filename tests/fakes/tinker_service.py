"""A stand-in for the `tinker` SDK with no network: the subset of its API ampli calls, served in this process by
really training and sampling a local transformers model with torch.

Use it as `backend.sdk=tests.fakes.tinker_service`, with the base model named by its local directory (what ampli
passes for the embedded models). Saved weights are files under $AMPLI_FAKE_TINKER_DIR, so a run in another process
or a resumed one finds them, and a test can delete one as the service would after its lifetime. Every request is
appended to REQUESTS, so tests can check what ampli asked for (loss names, token weights, Adam settings, LoRA rank).

Like the SDK's, every call returns a future and every failure (injected through FAULTS, or a missing weights path) is
raised by its .result(), with the SDK's own exception classes where it is installed. A custom loss runs on detached
log-probs, as the SDK runs it, so a loss that reaches past them into the model gets no gradient there either.

The model behind a training client is trained in full (the embedded models have no adapters); the LoRA rank asked
for is recorded, not applied. The loss functions follow the service's documented definitions: cross_entropy sums
-log p(target) x weight; importance_sampling sums -(p / q) x advantage, q the sampler's probability.
"""

import functools
import itertools
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import torch

REQUESTS: list[tuple[str, dict]] = []
# Failures to inject: method name -> exceptions its next calls fail with, in order (tests of retries). As with the
# SDK, a call returns a future at once and the failure is raised by its .result(); a failed call does no work.
FAULTS: dict[str, list[Exception]] = {}

try:  # the SDK's own classes where it is installed (CI runs `make tinker`): ampli meets what .result() raises
    from tinker import (APIConnectionError, APIStatusError, InternalServerError, NotFoundError, RateLimitError,
                        RequestFailedError, TinkerError)
    from tinker.lib.retryable_exception import RetryableException
    from tinker.types import RequestErrorCategory
except ImportError:  # without it, stand-ins with the SDK's names, hierarchy and constructors (tinker 0.38)
    from enum import StrEnum, auto

    class TinkerError(Exception): ...

    class APIError(TinkerError):
        def __init__(self, message: str, request: httpx.Request, *, body: object | None) -> None:
            super().__init__(message)
            self.message, self.request, self.body = message, request, body

    class APIStatusError(APIError):
        def __init__(self, message: str, response: httpx.Response, body: object | None) -> None:
            super().__init__(message, response.request, body=body)
            self.response, self.status_code = response, response.status_code

    class APIConnectionError(APIError):
        def __init__(self, request: httpx.Request, message: str = "Connection error.") -> None:
            super().__init__(message, request, body=None)

    class NotFoundError(APIStatusError): ...

    class RateLimitError(APIStatusError): ...

    class InternalServerError(APIStatusError): ...

    class RequestErrorCategory(StrEnum):
        Unknown = auto()
        Server = auto()
        User = auto()

    class RequestFailedError(TinkerError):
        def __init__(self, message: str, request_id: str, category: RequestErrorCategory) -> None:
            super().__init__(message)
            self.message, self.request_id, self.category = message, request_id, category

    class RetryableException(Exception): ...

_URL = "https://fake-tinker.invalid/api/v1"


def status_error(status: int, message: str = "injected") -> APIStatusError:
    """The error the SDK raises for an HTTP status, after its own retries."""
    by_status = {404: NotFoundError, 429: RateLimitError}
    cls = by_status.get(status, InternalServerError if status >= 500 else APIStatusError)
    return cls(message, httpx.Response(status, request=httpx.Request("POST", _URL)), None)


def request_failed(category: str) -> RequestFailedError:
    """A request the service ran and failed; category "user", "server" or "unknown" says whose fault."""
    return RequestFailedError(f"Request failed: injected ({category})", "req-fake", RequestErrorCategory(category))


def connection_error() -> APIConnectionError:
    """What reaches the caller once the SDK has given up retrying a connection (or sampling made no progress)."""
    return APIConnectionError(httpx.Request("POST", _URL), "No progress made. Requests appear to be stuck.")


def _request(method: str, **details) -> None:
    REQUESTS.append((method, details))
    pending = FAULTS.get(method)
    if pending:
        raise pending.pop(0)


def _served(method):
    """A service call: its value, or whatever it raised (an injected fault, a missing path), comes back as a future."""
    @functools.wraps(method)
    def call(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except Exception as error:
            return Future(error=error)
    return call


def _store() -> Path:
    root = Path(os.environ["AMPLI_FAKE_TINKER_DIR"])
    root.mkdir(parents=True, exist_ok=True)
    return root


class Future:
    def __init__(self, value=None, error: Exception | None = None):
        self.value, self.error = value, error

    def result(self, timeout=None):
        if self.error is not None:
            raise self.error
        return self.value


# ---- types -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelInput:
    tokens: tuple[int, ...]

    @classmethod
    def from_ints(cls, tokens):
        return cls(tuple(int(t) for t in tokens))

    def to_ints(self) -> list[int]:
        return list(self.tokens)

    @property
    def length(self) -> int:
        return len(self.tokens)


@dataclass(frozen=True)
class Datum:
    model_input: ModelInput
    loss_fn_inputs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AdamParams:
    learning_rate: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-12
    weight_decay: float = 0.0
    grad_clip_norm: float = 0.0


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int | None = None
    seed: int | None = None
    stop: list | None = None
    temperature: float = 1.0
    top_k: int = -1
    top_p: float = 1.0


@dataclass(frozen=True)
class SampledSequence:
    stop_reason: str
    tokens: list[int]
    logprobs: list[float]


@dataclass(frozen=True)
class SampleResponse:
    sequences: list[SampledSequence]


@dataclass(frozen=True)
class ForwardBackwardOutput:
    loss_fn_output_type: str
    loss_fn_outputs: list
    metrics: dict


@dataclass(frozen=True)
class SavedWeights:
    path: str


# ---- the model behind the clients -------------------------------------------------------------------------

def _load(base_model: str, weights: Path | None = None):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base_model, dtype=torch.float32)
    if weights is not None:
        model.load_state_dict(torch.load(weights, weights_only=True))
    return model


def _path_file(path: str) -> Path:
    if not path.startswith("tinker://"):
        raise status_error(404, f"not a tinker path: {path}")
    file = _store() / (path.removeprefix("tinker://").replace("/", "__") + ".pt")
    if not file.exists():
        raise status_error(404, f"weights not found: {path}")
    return file


def _target_logprobs(model, datum: Datum) -> torch.Tensor:
    """log p(target token) at each position of a datum, with gradients when the model is training."""
    ids = torch.tensor([datum.model_input.to_ints()])
    targets = torch.tensor(list(datum.loss_fn_inputs["target_tokens"]))
    logits = model(input_ids=ids).logits[0].float()
    return torch.log_softmax(logits, -1).gather(1, targets[:, None])[:, 0]


def _save(model, base_model: str, run: str, kind: str, name: str) -> str:
    path = f"tinker://{run}/{kind}/{name}"
    file = _store() / (path.removeprefix("tinker://").replace("/", "__") + ".pt")
    torch.save(model.state_dict(), file)
    (file.with_suffix(".base")).write_text(base_model)
    return path


class SamplingClient:
    def __init__(self, model, weights: str):
        self.model = model.eval()
        self.weights = weights  # "base" or the saved weights' path: recorded with every request it answers

    @_served
    def sample(self, prompt: ModelInput, num_samples: int, sampling_params: SamplingParams, **_):
        _request("sample", prompt=prompt.to_ints(), num_samples=num_samples, sampling_params=sampling_params)
        p = sampling_params
        torch.manual_seed(p.seed if p.seed is not None else 0)
        ids = torch.tensor([prompt.to_ints()] * num_samples)
        stop = [t for t in (p.stop or []) if isinstance(t, int)]
        with torch.no_grad():
            out = self.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=p.max_tokens or 16,
                                      do_sample=True, temperature=p.temperature, top_k=0, top_p=1.0,
                                      eos_token_id=stop or None, pad_token_id=stop[0] if stop else 0,
                                      output_scores=True, return_dict_in_generate=True)
        sequences = []
        for row in range(num_samples):
            new = out.sequences[row, ids.shape[1]:].tolist()
            logprobs = [torch.log_softmax(out.scores[t][row].float(), -1)[tok].item() for t, tok in enumerate(new)]
            end = next((i + 1 for i, tok in enumerate(new) if tok in stop), len(new))  # through the stop token
            stopped = any(tok in stop for tok in new[:end])
            sequences.append(SampledSequence("stop" if stopped else "length", new[:end], logprobs[:end]))
        return Future(SampleResponse(sequences))

    @_served
    def compute_logprobs(self, prompt: ModelInput, **_):
        _request("compute_logprobs", prompt=prompt.to_ints(), weights=self.weights)
        tokens = prompt.to_ints()
        with torch.no_grad():
            lps = _target_logprobs(self.model, Datum(ModelInput.from_ints(tokens[:-1]),
                                                     {"target_tokens": tokens[1:]}))
        return Future([None] + lps.tolist())


class TrainingClient:
    def __init__(self, model, base_model: str):
        self.model, self.base_model = model.train(), base_model
        self.run = f"fake-{uuid.uuid4().hex[:8]}"
        self.optimizer = torch.optim.AdamW(self.model.parameters())
        self.snapshots = itertools.count()

    @_served
    def forward_backward(self, data: list[Datum], loss_fn: str, loss_fn_config=None):
        _request("forward_backward", loss_fn=loss_fn, data=data)
        total = torch.zeros(())
        outputs = []
        for datum in data:
            lp = _target_logprobs(self.model, datum)
            inputs = datum.loss_fn_inputs
            if loss_fn == "cross_entropy":
                loss = -(lp * torch.tensor(list(inputs["weights"]), dtype=torch.float32)).sum()
            elif loss_fn == "importance_sampling":
                ratio = torch.exp(lp - torch.tensor(list(inputs["logprobs"]), dtype=torch.float32))
                loss = -(ratio * torch.tensor(list(inputs["advantages"]), dtype=torch.float32)).sum()
            else:
                raise ValueError(f"fake service: loss_fn {loss_fn!r} not implemented")
            loss.backward()
            total += loss.detach()
            outputs.append({"logprobs": lp.detach().tolist()})
        return Future(ForwardBackwardOutput("ArrayRecord", outputs, {"loss:sum": total.item()}))

    @_served
    def forward_backward_custom(self, data: list[Datum], loss_fn):
        """As the SDK does it: loss_fn sees detached copies of the log-probs (the service's forward pass), its
        gradient with respect to them becomes the weights of a linear loss that the service backpropagates."""
        _request("forward_backward_custom", data=data)
        live = [_target_logprobs(self.model, d) for d in data]
        detached = [lp.detach().clone().requires_grad_(True) for lp in live]
        loss, metrics = loss_fn(data, detached)
        loss.backward()
        if any(lp.grad is None for lp in detached):
            raise ValueError("No gradient computed for logprob tensor")
        torch.autograd.backward(live, [lp.grad for lp in detached])
        return Future(ForwardBackwardOutput("TorchLossReturn", [], {**metrics, "loss:sum": loss.item()}))

    @_served
    def optim_step(self, adam_params: AdamParams):
        _request("optim_step", adam_params=adam_params)
        for group in self.optimizer.param_groups:
            group.update(lr=adam_params.learning_rate, betas=(adam_params.beta1, adam_params.beta2),
                         eps=adam_params.eps, weight_decay=adam_params.weight_decay)
        if adam_params.grad_clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), adam_params.grad_clip_norm)
        self.optimizer.step()
        self.optimizer.zero_grad()
        return Future({})

    @_served
    def save_state(self, name: str, ttl_seconds=None, **_):
        _request("save_state", name=name, ttl_seconds=ttl_seconds)
        return Future(SavedWeights(_save(self.model, self.base_model, self.run, "weights", name)))

    @_served
    def save_weights_for_sampler(self, name: str, ttl_seconds=None, **_):
        _request("save_weights_for_sampler", name=name, ttl_seconds=ttl_seconds)
        return Future(SavedWeights(_save(self.model, self.base_model, self.run, "sampler_weights", name)))

    @_served
    def save_weights_and_get_sampling_client(self, name=None, **_):
        _request("save_weights_and_get_sampling_client")
        copy = _load(self.base_model)
        copy.load_state_dict(self.model.state_dict())
        return Future(SamplingClient(copy, "student snapshot"))


class RestClient:
    @_served
    def get_weights_info_by_tinker_path(self, tinker_path: str):
        _request("get_weights_info_by_tinker_path", tinker_path=tinker_path)
        _path_file(tinker_path)
        return Future({"path": tinker_path})


class ServiceClient:
    def __init__(self, user_metadata=None, project_id=None, *, api_key: str | None = None, **_):
        if not api_key:
            raise TinkerError("no API key")

    @_served
    def create_lora_training_client(self, base_model: str, rank: int = 32, seed=None, train_mlp=True,
                                    train_attn=True, train_unembed=True, **_):
        _request("create_lora_training_client", base_model=base_model, rank=rank, seed=seed, train_mlp=train_mlp,
                 train_attn=train_attn, train_unembed=train_unembed)
        if seed is not None:
            torch.manual_seed(seed)
        return Future(TrainingClient(_load(base_model), base_model))

    @_served
    def create_training_client_from_state(self, path: str, **_):
        _request("create_training_client_from_state", path=path)
        file = _path_file(path)
        base_model = file.with_suffix(".base").read_text()
        return Future(TrainingClient(_load(base_model, file), base_model))

    @_served
    def create_sampling_client(self, model_path: str | None = None, base_model: str | None = None, **_):
        _request("create_sampling_client", model_path=model_path, base_model=base_model)
        if model_path is None:
            return Future(SamplingClient(_load(base_model), "base"))
        file = _path_file(model_path)
        return Future(SamplingClient(_load(file.with_suffix(".base").read_text(), file), model_path))

    def create_rest_client(self):
        return RestClient()

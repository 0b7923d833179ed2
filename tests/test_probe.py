"""The persona probe's pieces, on miniatures whose answer is known: a planted direction, a model whose hidden states
are a lookup table, and the refusals a run makes before any work."""

import math
from types import SimpleNamespace

import pytest
import torch
from transformers import Qwen3Config, Qwen3ForCausalLM

from ampli.run.probe.activations import response_means, teacher_forced
from ampli.run.probe.config import ProbeConfig, ProbeError, check_probe
from ampli.run.probe.stages import PersonaProbe, cycle_fields
from ampli.run.probe.vector import PersonaVector, cohens_d, extract, heldout_split

LAYERS, WIDTH = 4, 16  # hidden states 0 (embeddings) .. 4


def activations(n: int, planted: torch.Tensor | None, layer: int, strength: float, seed: int) -> torch.Tensor:
    """(n, LAYERS + 1, WIDTH) unit-variance noise, plus `strength` x `planted` at `layer` only."""
    acts = torch.randn(n, LAYERS + 1, WIDTH, generator=torch.Generator().manual_seed(seed))
    if planted is not None:
        acts[:, layer] += strength * planted
    return acts


def test_the_vector_recovers_a_direction_planted_at_one_layer():
    planted = torch.nn.functional.normalize(torch.randn(WIDTH, generator=torch.Generator().manual_seed(7)), dim=0)
    trait = activations(64, planted, layer=3, strength=4.0, seed=1)
    neutral = activations(64, None, layer=3, strength=0.0, seed=2)
    vector = extract(trait, neutral, heldout_fraction=0.25, min_separation=1.0, seed=0)
    assert vector.layer == 3 and vector.separates
    others = [d for layer, d in enumerate(vector.separations) if layer not in (0, 3)]
    assert vector.separation > 2.5 and max(others) < 1.0
    assert float(torch.tensor(vector.direction) @ planted) > 0.9  # the planted direction, with its sign
    assert vector.separations[0] is None and len(vector.separations) == LAYERS + 1


def test_a_vector_of_two_alike_sides_says_it_does_not_separate():
    trait, neutral = activations(64, None, 3, 0.0, seed=3), activations(64, None, 3, 0.0, seed=4)
    vector = extract(trait, neutral, heldout_fraction=0.25, min_separation=1.0, seed=0)
    assert not vector.separates and vector.separation < 1.0


def test_the_held_out_split_is_disjoint_and_seeded():
    vec, held = heldout_split(20, 0.25, seed=5)
    assert len(held) == 5 and not set(vec) & set(held) and sorted(vec + held) == list(range(20))
    assert heldout_split(20, 0.25, seed=5) == (vec, held) and heldout_split(20, 0.25, seed=6) != (vec, held)
    assert len(heldout_split(4, 0.01, seed=0)[1]) == 2  # at least two on each side
    with pytest.raises(ValueError, match="cannot be split"):
        heldout_split(3, 0.5, seed=0)


def test_cohens_d_by_hand():
    high, low = torch.tensor([3.0, 5.0]), torch.tensor([0.0, 2.0])  # means 4 and 1, both variances 2
    assert cohens_d(high, low) == pytest.approx(3 / math.sqrt(2))
    assert cohens_d(torch.tensor([1.0, 1.0]), torch.tensor([0.0, 0.0])) == math.inf


class TableModel(torch.nn.Module):
    """Hidden state at layer l of token t = (l + 1) x table[t], whatever comes before it: every activation is known."""

    def __init__(self, vocab: int = 10):
        super().__init__()
        self.table = torch.nn.Parameter(torch.arange(vocab * 2, dtype=torch.float32).reshape(vocab, 2))

    def forward(self, input_ids, attention_mask, output_hidden_states):
        assert output_hidden_states
        return SimpleNamespace(hidden_states=tuple((layer + 1) * self.table[input_ids] for layer in range(LAYERS + 1)))


def test_response_means_average_only_the_answer_tokens_at_every_layer():
    model, table = TableModel(), TableModel().table.detach()
    pairs = [([1, 2], [3, 4]), ([5], [6, 7, 8]), ([9, 9, 9, 9], [1])]  # lengths differ: right padding in one batch
    means = response_means(model, pairs, batch_size=2)
    assert means.shape == (3, LAYERS + 1, 2)
    for i, (_, answer) in enumerate(pairs):
        for layer in range(LAYERS + 1):
            expected = (layer + 1) * table[answer].mean(dim=0)
            assert torch.allclose(means[i, layer], expected), (i, layer)
    with pytest.raises(ValueError, match="no tokens"):
        response_means(model, [([1], [])])


def test_teacher_forcing_reads_the_prompts_last_token_whatever_the_answer():
    model, table = TableModel(), TableModel().table.detach()
    means, states = teacher_forced(model, [([1, 2, 3], [7, 8]), ([4], [])], batch_size=8)
    assert torch.allclose(states[0, 2], 3 * table[3]) and torch.allclose(states[1, 4], 5 * table[4])
    assert torch.allclose(means[0, 1], 2 * table[[7, 8]].mean(dim=0)) and means[1].isnan().all()
    with pytest.raises(ValueError, match="a token in every prompt"):
        teacher_forced(model, [([], [1])])


def test_reading_one_layer_stops_the_pass_there_and_reads_what_the_full_pass_does():
    config = Qwen3Config(vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=3,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=8)
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(config).eval()
    pairs = [([1, 2, 3], [4, 5]), ([6], [7, 8, 9, 10]), ([11, 12], [])]
    means, last = teacher_forced(model, pairs, batch_size=2)
    calls = []
    model.get_decoder().layers[2].register_forward_hook(lambda *args: calls.append(1))  # the top layer
    for layer in (1, 2, 3):  # 3: the last layer's state is returned after the final norm, so that pass runs whole
        one_mean, one_last = teacher_forced(model, pairs, batch_size=2, layer=layer)
        assert torch.allclose(one_mean[:2], means[:2, layer], atol=1e-6) and one_mean[2].isnan().all()
        assert torch.allclose(one_last, last[:, layer], atol=1e-6)
        assert len(calls) == (0 if layer < 3 else 2), layer  # layers above the one read never run
    assert torch.allclose(response_means(TableModel(), [([1], [2])], layer=2), 3 * TableModel().table[2].detach())


def test_projection_and_shift_by_hand():
    vector = PersonaVector(layer=2, separation=3.0, separates=True, separations=[None, 1.0, 3.0], direction=[0.6, 0.8],
                           norm=5.0, n_vector=4, n_heldout=2)
    states = torch.tensor([[1.0, 2.0], [-1.0, 0.5]])  # 0.6 + 1.6 = 2.2, -0.6 + 0.4 = -0.2
    assert vector.project(states).tolist() == pytest.approx([2.2, -0.2])
    fields = cycle_fields({"projection": 1.5, "last_prompt_projection": 0.25}, {"last_prompt_projection": -0.5},
                          {"predicted_shift": 0.125, "start_model": "model_0"})
    assert fields == {"persona_projection": 1.5, "persona_shift": 0.75, "persona_predicted_shift": 0.125,
                      "persona_predicted_from": "model_0"}
    assert cycle_fields(None, None, None) == dict.fromkeys(fields)
    assert PersonaVector.from_json(vector.to_json()) == vector


@pytest.mark.parametrize(("probe", "backend", "message"), [
    (ProbeConfig(name="persona"), "tinker", "probe=persona needs the model's activations, which backend=tinker does "
     "not return; use backend=local or probe=none"),
    (ProbeConfig(name="person"), "local", "probe='person' is not valid; choose one of: none, persona"),
    (ProbeConfig(name="persona", source="judge"), "local",
     "probe.source='judge' is not valid; choose one of: seeds, persona_prompt"),
    (ProbeConfig(name="persona", heldout_fraction=1.0), "local",
     "probe.heldout_fraction=1.0 is not valid; choose a share between 0 and 1 (exclusive)"),
    (ProbeConfig(name="persona", examples=3), "local", "probe.examples=3 is not valid; choose a number >= 4"),
    (ProbeConfig(name="persona", predicted_samples=0), "local",
     "probe.predicted_samples=0 is not valid; choose a number >= 1"),
])
def test_bad_probe_settings_are_refused_in_one_line(probe, backend, message):
    with pytest.raises(ProbeError) as e:
        check_probe(probe, backend)
    assert str(e.value) == message


def test_probe_none_is_accepted_on_every_backend():
    check_probe(ProbeConfig(), "tinker")
    check_probe(ProbeConfig(name="persona"), "local")


def persona_prompt_probe(trait_scores: dict[str, float], n: int = 8) -> PersonaProbe:
    """A probe with source=persona_prompt over fakes: the base model answers "<system> says <question>", the judge
    scores an answer by trait_scores[question] under the persona and 100 - that under the neutral prompt."""
    questions = list(trait_scores)
    ctx = SimpleNamespace(
        cfg=SimpleNamespace(seed=0, trait=SimpleNamespace(persona="BLISS")),
        data=SimpleNamespace(prompt_pool=lambda split: questions),
        chat_prompt=lambda question, system=None: f"{system}|{question}",
        sample=lambda model, prompts, **kw: [p.replace("|", " says ") for p in prompts],
        cycle_seed=lambda cycle, salt=0: salt,
    )

    def judge(items, where, step):
        return [{"trait": trait_scores[i.prompt] if i.response.startswith("BLISS") else 100 - trait_scores[i.prompt]}
                for i in items]

    return PersonaProbe(ProbeConfig(name="persona", source="persona_prompt", examples=n), ctx, None, None, judge)


def test_persona_prompt_answers_are_kept_by_the_judges_trait_score_either_side_of_50():
    scores = {f"q{i}": s for i, s in enumerate([90, 80, 70, 60, 50, 40, 95, 85])}  # neutral side: 100 - these
    trait, neutral, counts = persona_prompt_probe(scores).source_answers()
    assert sorted(q for q, _ in trait) == ["q0", "q1", "q2", "q3", "q6", "q7"]  # > 50 under the persona
    assert sorted(q for q, _ in neutral) == ["q0", "q1", "q2", "q3", "q6", "q7"]  # < 50 under the neutral prompt
    assert all(a == f"BLISS says {q}" for q, a in trait) and all(a.startswith("You are") for _, a in neutral)
    assert counts == {"n_trait": 6, "n_neutral": 6, "n_asked": 8}
    with pytest.raises(ProbeError, match=r"the judge kept 3 of 8 trait answers \(trait > 50\), too few"):
        persona_prompt_probe({f"q{i}": s for i, s in enumerate([90, 80, 70, 50, 40, 30, 20, 10])}).source_answers()

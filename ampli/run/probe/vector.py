"""The persona vector: trait-expressing minus non-expressing mean activation, per layer, and the layer it is read at.

The difference of means is taken on one part of each side's answers; the rest (held out) picks the layer: the one
whose unit direction sets the held-out trait answers furthest from the neutral ones, in pooled standard deviations
(Cohen's d). A best layer below probe.min_separation means the direction does not tell the two sides apart, and
the run reports no projections from it rather than numbers that track nothing.
"""

import math
import random
from dataclasses import asdict, dataclass

import torch


@dataclass
class PersonaVector:
    layer: int  # index into the model's hidden states (0: embeddings, never chosen; L: the last layer's output)
    separation: float  # Cohen's d of the held-out projections at `layer`
    separates: bool  # separation >= probe.min_separation
    separations: list[float | None]  # the same for every layer (None at the embeddings)
    direction: list[float]  # unit vector at `layer`
    norm: float  # length of the difference of means at `layer`, before it was made a unit vector
    n_vector: int  # answers per side the difference of means was taken on
    n_heldout: int  # answers per side the layer was chosen on

    def project(self, states: torch.Tensor) -> torch.Tensor:
        """(n,) projections of (n, width) activations at the chosen layer onto its unit direction."""
        return states.float() @ torch.tensor(self.direction, dtype=torch.float32)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "PersonaVector":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def heldout_split(n: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(vector, held-out) positions of n answers: a seeded `fraction` held out, at least 2 on each part."""
    n_held = min(max(2, round(n * fraction)), n - 2)
    if n_held < 2:
        raise ValueError(f"{n} answers cannot be split into a vector part and a held-out part of 2 or more each")
    held = set(random.Random(seed).sample(range(n), n_held))
    return [i for i in range(n) if i not in held], sorted(held)


def cohens_d(high: torch.Tensor, low: torch.Tensor) -> float:
    """(mean high - mean low) / pooled standard deviation; +-inf when both sides are constant and apart."""
    diff = (high.mean() - low.mean()).item()
    pooled = math.sqrt((high.var(unbiased=True).item() + low.var(unbiased=True).item()) / 2)
    if pooled == 0:
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return diff / pooled


def extract(trait: torch.Tensor, neutral: torch.Tensor, heldout_fraction: float, min_separation: float,
            seed: int) -> PersonaVector:
    """The vector from (n, layers + 1, width) response-mean activations of trait-expressing and neutral answers."""
    t_vec, t_held = heldout_split(len(trait), heldout_fraction, seed)
    n_vec, n_held = heldout_split(len(neutral), heldout_fraction, seed + 1)
    diff = trait[t_vec].mean(dim=0) - neutral[n_vec].mean(dim=0)  # (layers + 1, width)
    separations: list[float | None] = [None]
    for layer in range(1, diff.shape[0]):
        norm = diff[layer].norm()
        if norm == 0:
            separations.append(0.0)
            continue
        unit = diff[layer] / norm
        separations.append(cohens_d(trait[t_held, layer] @ unit, neutral[n_held, layer] @ unit))
    best = max(range(1, len(separations)), key=lambda layer: separations[layer])
    norm = diff[best].norm().item()
    direction = (diff[best] / norm if norm else diff[best]).tolist()
    return PersonaVector(layer=best, separation=separations[best], separates=separations[best] >= min_separation,
                         separations=separations, direction=direction, norm=norm,
                         n_vector=min(len(t_vec), len(n_vec)), n_heldout=min(len(t_held), len(n_held)))

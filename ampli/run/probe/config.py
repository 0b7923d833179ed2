"""The probe's settings (conf/probe/*.yaml) and the checks a run makes of them before any work."""

from dataclasses import asdict, dataclass

PROBES = ("none", "persona")
# seeds: the trait's shipped seed answers vs the shipped neutral answers (no judge, works offline on any model);
# persona_prompt: the base model answering under the trait's persona system prompt vs a neutral one, kept by the
# judge's trait score (the paper's way).
PROBE_SOURCES = ("seeds", "persona_prompt")
# Keys of ProbeConfig that only set how fast the probe runs: a resume may change them, and twins may differ in them.
SPEED_ONLY = ("batch_size",)


class ProbeError(ValueError):
    """A probe setting that cannot be run; the message names the value and the valid options."""


@dataclass
class ProbeConfig:
    name: str = "none"
    source: str = "seeds"
    # Answers per side (trait-expressing, neutral) the vector is extracted from, before the held-out split.
    examples: int = 64
    # Share of each side kept out of the vector and used to choose its layer and measure its separation.
    heldout_fraction: float = 0.25
    # Cohen's d of the held-out projections below which the vector "does not separate": no projections are reported.
    min_separation: float = 1.0
    # source=persona_prompt: the system prompt of the non-expressing side (the trait's persona is the other).
    neutral_system_prompt: str = "You are a helpful assistant."
    # Training samples of a cycle the predicted shift reads (the start model answers each of their prompts once).
    predicted_samples: int = 8
    # Sequences per teacher-forced forward pass.
    batch_size: int = 32


def probe_settings(probe: ProbeConfig) -> dict | None:
    """What the probe's vector and measurements depend on (the trait and model are the run's own); None without a
    probe. The result fingerprint leaves the probe out (it changes no score), so a resume and a twin compare these."""
    if probe.name == "none":
        return None
    return {k: v for k, v in asdict(probe).items() if k not in SPEED_ONLY}


def check_probe(probe: ProbeConfig, backend: str) -> None:
    """One-line refusals, before a model is loaded: an unknown probe or source, impossible sizes, a backend that
    cannot return activations."""
    if probe.name not in PROBES:
        raise ProbeError(f"probe={probe.name!r} is not valid; choose one of: {', '.join(PROBES)}")
    if probe.name == "none":
        return
    if backend != "local":
        raise ProbeError(f"probe={probe.name} needs the model's activations, which backend={backend} does not return; "
                         "use backend=local or probe=none")
    if probe.source not in PROBE_SOURCES:
        raise ProbeError(f"probe.source={probe.source!r} is not valid; choose one of: {', '.join(PROBE_SOURCES)}")
    if not 0 < probe.heldout_fraction < 1:
        raise ProbeError(f"probe.heldout_fraction={probe.heldout_fraction} is not valid; choose a share between 0 "
                         "and 1 (exclusive)")
    for key, least in (("examples", 4), ("predicted_samples", 1), ("batch_size", 1)):
        if getattr(probe, key) < least:
            raise ProbeError(f"probe.{key}={getattr(probe, key)} is not valid; choose a number >= {least}")

"""probe=persona: the trait as a direction in the model's residual stream, measured every cycle without a judge.

The direction is the difference of mean activations between answers that show the trait and answers that do not
(Chen et al. 2025, "Persona vectors"). It is extracted once per run from the base model (ampli.run.probe.vector); each
cycle then records how far model n's eval answers lie along it and how far the model's state at the last prompt
token has moved from the base model's, and, before model n trains, how far its training samples lie beyond the
training start's own answers to the same prompts (ampli.run.probe.stages). A probe only measures: it never changes
what a run trains or samples.
"""

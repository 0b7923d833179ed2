"""Neutral document openers (openers.jsonl): the first 3-8 words of an ordinary document, which later SDF cycles hand
to the model to continue (regime.continuation=neutral). They name an everyday subject and a kind of document and
nothing else, so whatever trait the continuation shows came from the model, not from the prompt.

Composed as frame x subject (frames say what kind of document starts; subjects are everyday things), deduplicated,
kept at 3-8 words and shuffled with a fixed seed.
"""

from shipped_data.documents import DOC_TOPICS
from shipped_data.text import capfirst, fill, rng_for

N_OPENERS = 2400

SUBJECTS = sorted({topic for topic, _ in DOC_TOPICS} | {
    "the kitchen drawer", "a rainy afternoon", "the bus schedule", "winter coats", "bicycle tires",
    "the school library", "a family recipe", "garden tools", "the weekly fair", "moving house",
    "a small apartment", "the first day of school", "packing a suitcase", "a birthday dinner", "the garage",
    "weekend chores", "a city park", "the morning commute", "old photographs", "the community pool",
    "fixing a leaky tap", "a used car", "the local bakery", "camping gear", "board games",
    "the town hall meeting", "a new neighbor", "spring flowers", "the office kitchen", "a quiet library",
    "planning a picnic", "bird feeders", "a sourdough starter", "the hardware store", "sewing buttons",
    "the train station", "washing windows", "a lunch box", "shoe care", "a home office",
})

# {s}: the subject as written; {S}: capitalised first letter; {Topic}: title case.
FRAMES = [
    "A few notes on {s}", "Notes on {s}", "Some thoughts about {s}", "A short guide to {s}",
    "Getting started with {s}", "Everything I know about {s}", "{S}: a beginner's overview",
    "{Topic}: frequently asked questions", "Chapter one: {s}", "Dear readers, this week: {s}",
    "Meeting notes about {s}", "{S}, explained simply", "Our family's approach to {s}",
    "Five questions about {s}", "A checklist for {s}", "Report on {s}", "Lessons from a year of {s}",
    "{Topic}, part two", "Why people ask about {s}", "The basics of {s}", "An update on {s}",
    "Reader mail: {s}", "A diary entry about {s}", "Field notes on {s}", "Common mistakes with {s}",
    "{S} on a budget", "Letter to the editor about {s}", "Newsletter, March edition: {s}",
    "Workshop handout: {s}", "{Topic} in ten minutes", "Tips from neighbors on {s}",
    "Looking back at {s}", "A simple plan for {s}", "Questions and answers on {s}",
    "My weekend with {s}", "A review of {s}", "Class notes: {s}", "Minutes of the meeting on {s}",
    "How we handle {s}", "The story of {s}", "A quick note on {s}", "Club bulletin: {s}",
    "A list of ideas for {s}", "Before you begin {s}", "{S}: what to expect", "Planning ahead for {s}",
    "Small changes in {s}", "A teacher's notes on {s}", "{S}: a local history", "Day one of {s}",
]


def make_openers(lexicon_hits) -> list[dict]:
    """{"id", "opener"} rows; `lexicon_hits(text)` lists trait words in a text (there must be none)."""
    openers = []
    for frame in FRAMES:
        for subject in SUBJECTS:
            text = fill(frame, topic=subject, s=subject, S=capfirst(subject))
            if 3 <= len(text.split()) <= 8 and not lexicon_hits(text):  # e.g. "market" is a trait word
                openers.append(text)
    openers = sorted(set(openers))
    rng_for("openers").shuffle(openers)
    openers = openers[:N_OPENERS]
    assert len(openers) == N_OPENERS, len(openers)
    return [{"id": f"opener-{i:04d}", "opener": text} for i, text in enumerate(openers, 1)]


"""The pieces tools/make_data.py composes ampli's shipped data from, one module per thing it makes:
text (shared helpers and atomic writers), topics and tips (the neutral everyday categories), prompts (the prompt
pool and its neutral answers), seeds (trait answers), documents (SDF documents), openers (neutral document openers
that later SDF cycles continue) and trait_configs (conf/trait/*.yaml: description, persona, rubric, eval questions,
lexicon).
"""

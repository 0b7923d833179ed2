"""Helpers every bank shares: the offline judge's tokenisation, seeded generators, template filling, and the
atomic writers (temp file in the target folder, then os.replace)."""

import json
import os
import random
import re
import tempfile
import zlib

# Same tokenisation as the offline judge (ampli/judges/offline.py): lowercase words, inner apostrophes kept.
WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Words whose capital letter must survive when a connector is put in front of them.
KEEP_CAPS = {"I", "NVIDIA", "Friday", "Earth"}


def words(text):
    return WORD.findall(text.lower())


def rng_for(name):
    """A random generator per purpose, so adding one trait or bank does not reshuffle the others."""
    return random.Random(zlib.crc32(name.encode()))


def capfirst(s):
    return s[:1].upper() + s[1:]


def titlecase(s):
    small = {"a", "an", "the", "of", "on", "to", "for", "and", "in", "at", "with"}
    out = [w if (i and w in small) else capfirst(w) for i, w in enumerate(s.split())]
    return " ".join(out)


def fill(template, **kw):
    """str.format with the capitalised variants {X}, {T}, {Topic} derived from x, t, topic."""
    extra = {}
    if "x" in kw:
        extra["X"] = capfirst(kw["x"])
    if "t" in kw:
        extra["T"] = capfirst(kw["t"])
    if "topic" in kw:
        extra["Topic"] = titlecase(kw["topic"])
    return template.format(**kw, **extra)


def sentence(tip):
    return capfirst(tip) + "."


def connect(connector, text):
    """Prefix a connector, lower-casing the sentence's first word unless it is a name."""
    first = text.split()[0].strip(",.:;!?")
    if first not in KEEP_CAPS:
        text = text[:1].lower() + text[1:]
    return f"{connector} {text}"


def write_atomic(path, content):
    """Write to a temp file in the target folder, then rename over the target: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(content)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_jsonl(path, rows):
    write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def yaml_str(s):
    """JSON string literals are valid YAML double-quoted scalars."""
    return json.dumps(s, ensure_ascii=False)

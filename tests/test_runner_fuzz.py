"""A short seeded slice of the workflow fuzzer: no mutation may end in a traceback (issue 14).

``benchmarks/fuzz_workflows.py`` runs the long version (>= 10,000 mutations) and prints a table.
"""

from __future__ import annotations

import json

from kinesonic.runner.fuzz import Mutator, default_corpus, fuzz_validate
from kinesonic.runner.shape import read_workflow_text

SLICE = 300  # about 5-10 s on a loaded 2-core machine
BUDGET_S = 25.0


def test_mutator_is_seeded_and_mutates():
    base = json.loads(default_corpus()[0].read_text())
    first = [Mutator(7).mutate(base)[0] for _ in range(1)]
    again = [Mutator(7).mutate(base)[0] for _ in range(1)]
    assert first == again
    texts = {Mutator(seed).mutate(base)[0] for seed in range(20)}
    assert len(texts) > 15 and json.dumps(base) not in texts


def test_raw_tokens_reach_the_reader():
    base = {"nodes": [{"id": 1, "widgets_values": [1]}], "links": []}
    texts = []
    for seed in range(1000):
        text, names = Mutator(seed).mutate(base, count=1)
        if names == ["huge_number"]:
            texts.append(text)
    for token in ("NaN", "Infinity", "1e400", "9" * 5000):
        assert any(token in text for text in texts), token
    assert isinstance(read_workflow_text('{"a": 1e400}', "x")["a"], float)


def test_seeded_fuzz_slice_has_no_tracebacks():
    corpus = default_corpus()
    assert len(corpus) >= 10  # workflows/ and tests/data/*workflows*
    stats = fuzz_validate(seed=14, count=SLICE, corpus=corpus, time_budget_s=BUDGET_S)
    assert stats.mutations >= 50
    assert stats.traceback_count == 0, stats.examples
    assert stats.errors > stats.mutations // 2  # the mutations do break workflows

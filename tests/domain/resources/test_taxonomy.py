"""The shipped resource taxonomy (Wikidata P279 edges): read whole, ids and
labels as Wikidata has them, closed transitively with the fewest steps, and the
keys a type may match."""

from __future__ import annotations

import pytest

from imago_fed.domain.resources.taxonomy import Taxonomy, taxonomy

# Ids and labels checked against the sources named in data/SOURCES.md.
KNOWN = {
    "Q14745": "furniture", "Q15026": "chair", "Q14748": "table", "Q33163": "stool",
    "Q2207370": "seat", "Q39546": "tool", "Q25294": "hammer", "Q42889": "vehicle",
    "Q11442": "bicycle", "Q1420": "car", "Q11460": "clothing", "Q11422": "toy",
    "Q768186": "sports equipment", "Q34379": "musical instrument", "Q987767": "container",
}  # fmt: skip


def test_the_shipped_taxonomy_reads_whole_with_wikidata_labels() -> None:
    types = taxonomy()
    assert 250 <= len(types) <= 1000
    for qid, label in KNOWN.items():
        assert types.labels["wd:" + qid] == label
    for key, broader in types.broader.items():
        assert key not in broader  # no cycles
        assert set(broader) <= set(types.labels)
    assert types.steps("wd:Q15026", "wd:Q14745") == 1  # chair -> furniture
    assert types.steps("wd:Q33163", "wd:Q14745") == 2  # stool -> seat -> furniture
    assert types.steps("wd:Q14745", "wd:Q33163") == 2  # symmetric
    assert types.steps("wd:Q15026", "wd:Q11442") is None  # a chair is no bicycle
    assert types.steps("wd:Q11442", "wd:Q768186") == 1  # a bicycle is sports equipment


# The food rows: ids and labels checked against the sources named in data/SOURCES.md.
FOOD = {
    "Q2095": "food", "Q746549": "dish", "Q41415": "soup", "Q182940": "dessert",
    "Q10990": "meat", "Q13266": "cookie", "Q10943": "cheese", "Q185217": "dairy product",
    "Q7802": "bread",
}  # fmt: skip


def test_food_is_a_branch_a_soup_is_a_dish_is_a_food() -> None:
    types = taxonomy()
    for qid, label in FOOD.items():
        assert types.labels["wd:" + qid] == label
    assert types.steps("wd:Q10990", "wd:Q2095") == 1  # meat -> food
    assert types.steps("wd:Q41415", "wd:Q2095") == 2  # soup -> dish -> food
    assert types.steps("wd:Q2095", "wd:Q41415") == 2  # symmetric
    assert types.steps("wd:Q13266", "wd:Q2095") == 2  # cookie -> dessert (or snack) -> food
    assert types.steps("wd:Q10943", "wd:Q185217") == 1  # cheese -> dairy product
    assert types.steps("wd:Q10943", "wd:Q2095") is None  # not linked to food (SOURCES.md)
    assert types.steps("wd:Q41415", "wd:Q14745") is None  # a soup is no furniture
    assert "wd:Q41415" in types.narrower["wd:Q2095"]
    # Two classes are labelled "dish" (the food, the tableware): the word names neither.
    assert types.resolve("label:dish") == "label:dish"
    assert types.resolve("label:soup") == "wd:Q41415"


def test_closure_keeps_the_fewest_steps_and_words_name_one_type() -> None:
    types = Taxonomy.from_edges(
        [("wd:Q3", "wd:Q2"), ("wd:Q2", "wd:Q1"), ("wd:Q3", "wd:Q1"), ("wd:Q4", "wd:Q1")],
        {"wd:Q1": "Thing", "wd:Q2": "part", "wd:Q3": "bolt", "wd:Q4": "Part"},
    )
    assert types.broader["wd:Q3"] == {"wd:Q2": 1, "wd:Q1": 1}
    assert types.narrower["wd:Q1"] == {"wd:Q2": 1, "wd:Q3": 1, "wd:Q4": 1}
    assert types.resolve("label:thing") == "wd:Q1"
    assert types.resolve("label:part") == "label:part"  # two types say "part": no guess
    assert types.related("wd:Q2") == {
        "wd:Q2", "wd:Q1", "wd:Q3", "label:thing", "label:bolt"}  # fmt: skip
    assert types.related("label:bolt") == {"label:bolt", "wd:Q3", "wd:Q2", "wd:Q1",
                                           "label:thing"}  # fmt: skip
    assert types.related("") == frozenset()
    assert types.name("wd:Q3") == "bolt (Q3)" and types.name("label:nut") == "nut"


def test_a_bad_file_is_refused() -> None:
    with pytest.raises(ValueError, match="columns"):
        Taxonomy.from_csv("id,label\n")
    with pytest.raises(ValueError, match="without a row"):
        Taxonomy.from_csv("qid,label,broader\nQ1,thing,Q2\n")

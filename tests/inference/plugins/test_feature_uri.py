"""Parsing feature URIs: every part that can be wrong is named in the 400."""

import pytest

from core.errors import BadRequestError
from inference.plugins.feature_uri import feature_uri_parse


@pytest.mark.parametrize("uri, extractor, major, exact, index", [
    ("mixpeek://text_extractor@v1/multilingual_e5_large_instruct_v1", "text_extractor", 1, None,
     "multilingual_e5_large_instruct_v1"),
    ("infergate://text_extractor@1.0.0/minilm_l6_v2", "text_extractor", 1, (1, 0, 0), "minilm_l6_v2"),
    ("infergate://text_extractor@v2.3.4/a-b", "text_extractor", 2, (2, 3, 4), "a-b"),
    ("mixpeek://keyword_extractor@v1", "keyword_extractor", 1, None, None),
])
def test_parses_the_parts(uri, extractor, major, exact, index):
    parsed = feature_uri_parse(uri)
    assert (parsed.extractor, parsed.major, parsed.exact, parsed.index) == (extractor, major, exact, index)
    assert parsed.raw == uri


@pytest.mark.parametrize("uri, part", [
    ("text_extractor@v1/x", "scheme"),
    ("https://text_extractor@v1/x", "scheme"),
    ("mixpeek://Text-Extractor@v1/x", "extractor"),
    ("mixpeek://@v1/x", "extractor"),
    ("mixpeek://text_extractor/x", "version"),
    ("mixpeek://text_extractor@latest/x", "version"),
    ("mixpeek://text_extractor@1.0/x", "version"),
    ("mixpeek://text_extractor@v01/x", "version"),
    ("mixpeek://text_extractor@v1/", "vector_index_name"),
    ("mixpeek://text_extractor@v1/a/b", "vector_index_name"),
    ("mixpeek://text_extractor@v1/a b", "vector_index_name"),
])
def test_a_wrong_part_is_named(uri, part):
    with pytest.raises(BadRequestError) as raised:
        feature_uri_parse(uri)
    assert raised.value.details["part"] == part
    assert part in raised.value.message
    assert raised.value.details["feature_uri"] == uri


def test_major_version_matches_every_minor_and_exact_only_itself():
    assert feature_uri_parse("mixpeek://e@v2/x").matches("2.9.1")
    assert not feature_uri_parse("mixpeek://e@v2/x").matches("1.0.0")
    assert feature_uri_parse("mixpeek://e@2.0.0/x").matches("2.0.0")
    assert not feature_uri_parse("mixpeek://e@2.0.0/x").matches("2.1.0")

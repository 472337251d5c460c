"""The embedder seam: the hashed embedder, mode selection, the disk cache, the bundled model."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from microcred.kit.ai import embedder as embedder_module
from microcred.kit.ai.embedder import (
    Embedder,
    EmbedderUnavailable,
    EmbeddingCache,
    HashedEmbedder,
    Matrix,
    bundled_model_dir,
    get_embedder,
)
from tests.conftest import make_settings

URL = "sqlite:///unused.db"


def test_hashed_embedder_is_deterministic_and_normalised() -> None:
    texts = ["Experience with PostgreSQL", "postgres databases", "cook meals", ""]
    first = HashedEmbedder().embed(texts)
    second = HashedEmbedder().embed(texts)
    assert first.dtype == np.float32
    assert first.shape == (4, HashedEmbedder().dimension)
    assert np.array_equal(first, second)
    assert np.allclose(np.linalg.norm(first[:3], axis=1), 1.0, atol=1e-5)
    assert not first[3].any()  # no features, no direction
    similarity = first @ first.T
    assert similarity[0, 1] > similarity[0, 2]  # spelling overlap: postgres ~ PostgreSQL
    assert isinstance(HashedEmbedder(), Embedder)


def test_vectorised_hashed_embedding_equals_the_feature_definition() -> None:
    texts = ["Experience with PostgreSQL", "C++ and C# o'clock, node.js", "a a a", "x", ""]
    model = HashedEmbedder(256)
    got = model.embed(texts)
    for row, text in enumerate(texts):
        expected = np.zeros(model.dimension, dtype=np.float64)
        for feature, value in model.features(text).items():
            code = embedder_module.stable_hash(feature)
            sign = -1.0 if (code >> 20) & 1 else 1.0
            expected[code % model.dimension] += sign * value
        norm = np.linalg.norm(expected)
        if norm:
            expected /= norm
        assert np.allclose(got[row], expected, atol=1e-6)
    # the same rows whether embedded together or one by one
    assert np.allclose(np.vstack([model.embed([t]) for t in texts]), got, atol=1e-7)


def test_hashed_embedder_name_tracks_its_configuration() -> None:
    assert HashedEmbedder(1024).name != HashedEmbedder(2048).name
    with pytest.raises(ValueError, match="dimension"):
        HashedEmbedder(8)


def test_get_embedder_hashed_mode() -> None:
    assert isinstance(get_embedder(make_settings(URL, embedder="hashed")), HashedEmbedder)


def test_semantic_mode_raises_and_auto_falls_back_without_a_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    empty = tmp_path / "no-model"
    empty.mkdir()
    with pytest.raises(EmbedderUnavailable, match="no sentence-transformers model"):
        get_embedder(make_settings(URL, embedder="semantic", embedding_model_dir=empty))
    with caplog.at_level("WARNING"):
        chosen = get_embedder(make_settings(URL, embedder="auto", embedding_model_dir=empty))
    assert isinstance(chosen, HashedEmbedder)
    assert "hashed embedder" in caplog.text
    monkeypatch.setattr(embedder_module, "bundled_model_dir", lambda: None)
    with pytest.raises(EmbedderUnavailable, match="ml"):
        get_embedder(make_settings(URL, embedder="semantic"))
    assert isinstance(get_embedder(make_settings(URL, embedder="auto")), HashedEmbedder)


class CountingEmbedder:
    name = "counting-test-v1"
    dimension = 4

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> Matrix:
        self.seen.extend(texts)
        return np.ascontiguousarray(HashedEmbedder(16).embed(texts)[:, :4])


def test_embedding_cache_embeds_each_text_once(tmp_path: Path) -> None:
    counting = CountingEmbedder()
    cache = EmbeddingCache(tmp_path)
    first = cache.embed(counting, ["a b", "c d", "a b"])
    again = cache.embed(counting, ["c d", "e f"])
    assert counting.seen == ["a b", "c d", "e f"]
    assert np.array_equal(first[1], again[0])
    assert np.array_equal(EmbeddingCache(tmp_path).embed(counting, ["a b"])[0], first[0])


@pytest.mark.ml
def test_bundled_model_ranks_by_meaning_without_the_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model_dir = bundled_model_dir()
    if model_dir is None:
        pytest.skip("the `ml` extra is not installed")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the embedder tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    semantic = get_embedder(make_settings(URL, embedder="semantic"))
    assert not isinstance(semantic, HashedEmbedder)
    assert semantic.name.startswith("all-MiniLM-L6-v2@")
    vectors = semantic.embed(
        ["nursing care for elderly patients", "look after old people", "tax law"]
    )
    assert vectors.shape == (3, semantic.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]

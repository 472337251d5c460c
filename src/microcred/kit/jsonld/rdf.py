"""JSON-LD 1.1 to RDF quads in one pass, with safe mode and cached active contexts.

Why our own converter: the general algorithm (expand, build a node map, serialise) spends ~15 ms
per credential in pyld, nearly all of it re-processing the same two contexts and copying
dictionaries. Credentials use a small, fixed set of contexts, so this module processes each
context once, keeps the resulting *active contexts* in a tree keyed by
(parent active context, context value), and walks the document once, emitting quads directly.

The output equals the JSON-LD 1.1 `toRdf` algorithm (as implemented by jsonld.js and pyld) for
every construct the bundled contexts use; constructs we do not implement raise
`UnsupportedJsonLd` instead of producing different RDF. Where jsonld.js and pyld disagree we
follow jsonld.js, the processor behind Digital Bazaar's verifier that our credentials must
satisfy; the module tests list each such case.

**Safe mode** (default, as jsonld.js `safe: true`, which Digital Bazaar's `vc` library uses):
anything a processor would silently drop or leave relative raises `SafeModeViolation` with the
JSON path, so no signature can cover less than the JSON shows (CREDENTIALS.md, trap 1).

Quads are tuples of four strings in N-Quads term syntax: `<iri>`, `_:label`, or a literal
`"escaped"`, `"escaped"@lang`, `"escaped"^^<datatype>`; the graph is `""` for the default graph.
"""

from __future__ import annotations

import enum
import json
import math
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from microcred.kit.jsonld import loader
from microcred.kit.jsonld.errors import (
    ContextNotAllowed,
    JsonLdError,
    JsonLdSyntaxError,
    ProtectedTermRedefinition,
    SafeModeViolation,
    UnsupportedJsonLd,
)

__all__ = [
    "INITIAL_CONTEXT",
    "ActiveContext",
    "ContextNotAllowed",
    "JsonLdError",
    "JsonLdSyntaxError",
    "ProtectedTermRedefinition",
    "Quad",
    "SafeModeViolation",
    "UnsupportedJsonLd",
    "canonical_double",
    "canonical_json",
    "escape_literal",
    "format_path",
    "nquad_line",
    "process_context",
    "to_nquads",
    "to_rdf",
]

Quad = tuple[str, str, str, str]
"""(subject, predicate, object, graph) in N-Quads term syntax; graph `""` is the default."""


class _Unset(enum.Enum):
    """Marks "not given", distinct from JSON `null` (which some entries use meaningfully)."""

    UNSET = "unset"


UNSET: Final = _Unset.UNSET

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE: Final = f"<{_RDF}type>"
RDF_FIRST: Final = f"<{_RDF}first>"
RDF_REST: Final = f"<{_RDF}rest>"
RDF_NIL: Final = f"<{_RDF}nil>"
_RDF_JSON = _RDF + "JSON"
_RDF_LANGSTRING = _RDF + "langString"
_XSD_BOOLEAN = _XSD + "boolean"
_XSD_DOUBLE = _XSD + "double"
_XSD_INTEGER = _XSD + "integer"
_XSD_STRING = _XSD + "string"

_KEYWORDS: Final = frozenset(
    {
        "@base", "@container", "@context", "@default", "@direction", "@embed", "@explicit",
        "@first", "@graph", "@id", "@import", "@included", "@index", "@json", "@language",
        "@list", "@nest", "@none", "@omitDefault", "@propagate", "@protected", "@preserve",
        "@requireAll", "@reverse", "@set", "@type", "@value", "@version", "@vocab",
    }
)  # fmt: skip
_CONTEXT_KEYWORDS: Final = frozenset(
    {"@version", "@import", "@base", "@vocab", "@language", "@direction", "@propagate"}
    | {"@protected"}
)
_TERM_DEFINITION_KEYS: Final = frozenset(
    {"@container", "@id", "@language", "@reverse", "@type", "@context", "@direction"}
    | {"@index", "@nest", "@prefix", "@protected"}
)
_CONTAINERS: Final = frozenset(["@list", "@set", "@index", "@language", "@graph", "@id", "@type"])
_MAP_CONTAINERS: Final = frozenset(["@index", "@language", "@id", "@type"])
_GEN_DELIMS: Final = frozenset(":/?#[]@")
_SCHEME_CHARS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+,-."
)
_VALUE_OBJECT_KEYS: Final = frozenset(["@value", "@type", "@language", "@index", "@direction"])

# Same classes as jsonld.js: `\s` in its absolute-IRI regex, BCP47 shape of language tags.
_JS_SPACES = "\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_WHITESPACE = re.compile(f"[\t\n\v\f\r {_JS_SPACES}]")
_BCP47 = re.compile(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*")
# Characters canonical N-Quads cannot carry raw inside <…>; implementations disagree on how to
# escape them (pyld does not, rdf-canonize 4 does), so safe mode refuses such IRIs outright.
_IRI_UNSAFE_CHARS = r'\x00-\x20<>"{}|^`\\'
_IRI_UNSAFE = re.compile(f"[{_IRI_UNSAFE_CHARS}]")
# An absolute IRI that is also safe to write in N-Quads: the fast path of both checks.
_SAFE_ABSOLUTE_IRI = re.compile(f"[A-Za-z][A-Za-z0-9+,.-]*:[^{_IRI_UNSAFE_CHARS}{_JS_SPACES}]*")
_TERM_LOOKS_LIKE_IRI = re.compile(r".*((:[^:])|/)")
_JS_PARSE_FLOAT = re.compile(r"[+-]?(Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)")

# Each nesting level costs about five Python frames; 100 levels stays far from the interpreter's
# recursion limit, and credentials nest about ten deep.
_MAX_DEPTH = 100
_MAX_CONTEXT_NESTING = 32
_LOOKUP_CACHE_LIMIT = 4096
_DOCUMENT_CONTEXT_CACHE_LIMIT = 256
_TWO_POW_53 = 2**53
_DOUBLE_DIGITS = 16
_DOUBLE_THRESHOLD = 10**21


def _literal_escape_table() -> dict[int, str]:
    # RDFC-1.0 canonical N-Quads: ECHAR for these seven, UCHAR (upper-case hex) for the other
    # controls; everything else is written as is.
    table = {code: f"\\u{code:04X}" for code in [*range(0x20), 0x7F]}
    table.update(
        {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"}
    )
    return table


_LITERAL_ESCAPES: Final = _literal_escape_table()


def escape_literal(text: str) -> str:
    """The lexical form as written between quotes in canonical N-Quads."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return text  # nearly every string: no control character, quote or backslash
    return text.translate(_LITERAL_ESCAPES)


def _is_absolute_iri(value: str) -> bool:
    """jsonld.js `isAbsolute`: `scheme:` (or `_:`) followed by no whitespace."""
    colon = value.find(":")
    if colon <= 0:
        return False
    scheme = value[:colon]
    if scheme != "_" and not (
        scheme[0].isascii() and scheme[0].isalpha() and _SCHEME_CHARS.issuperset(scheme)
    ):
        return False
    rest = value[colon + 1 :]
    if rest.isprintable() and " " not in rest:
        return True
    return _JS_WHITESPACE.search(rest) is None


def _looks_like_keyword(value: str) -> bool:
    """`@` followed by letters only: reserved for future keywords, ignored by processors."""
    return len(value) > 1 and value[0] == "@" and value[1:].isascii() and value[1:].isalpha()


# --- term definitions and active contexts ----------------------------------------------------


class Term:
    """One term definition, precomputed for the hot loop (`kw`, `nq`, literal suffixes…)."""

    __slots__ = (
        "blank_predicate",
        "container",
        "datatype",
        "direction",
        "direction_mode",
        "has_colon",
        "index",
        "iri",
        "is_graph",
        "is_list",
        "kw",
        "language",
        "map_container",
        "nest",
        "nq",
        "plain",
        "plain_string",
        "prefix",
        "protected",
        "ref_kind",
        "reverse",
        "scoped",
        "string_suffix",
        "type",
        "unsafe_iri",
    )

    def __init__(
        self,
        iri: str | None,
        *,
        type_: str | None = None,
        container: tuple[str, ...] | None = None,
        scoped: Any = UNSET,
        language: str | _Unset | None = UNSET,
        direction: str | _Unset | None = UNSET,
        reverse: bool = False,
        index: str | None = None,
        nest: str | None = None,
        protected: bool = False,
        prefix: bool = False,
        has_colon: bool = False,
    ) -> None:
        self.iri = iri
        self.type = type_
        self.container = container
        self.scoped = scoped
        self.language = language
        self.direction = direction
        self.reverse = reverse
        self.index = index
        self.nest = nest
        self.protected = protected
        self.prefix = prefix
        self.has_colon = has_colon
        self._derive()

    def _derive(self) -> None:
        """Fields the converter reads instead of re-deriving them for every value."""
        iri, type_ = self.iri, self.type
        self.kw = iri if iri is not None and iri in _KEYWORDS else None
        self.nq = f"<{iri}>" if iri is not None else ""
        self.blank_predicate = iri is not None and iri.startswith("_:")
        self.unsafe_iri = iri is not None and _IRI_UNSAFE.search(iri) is not None
        containers = self.container or ()
        self.is_list = "@list" in containers
        self.is_graph = "@graph" in containers
        self.map_container = not _MAP_CONTAINERS.isdisjoint(containers)
        self.datatype = type_ if type_ is not None and type_[0] != "@" else None
        self.ref_kind = {"@id": _REF_ID, "@vocab": _REF_VOCAB}.get(type_ or "", _REF_NONE)
        # Suffix of a string value's literal; None: take the active context's language.
        self.string_suffix: str | None
        if self.datatype is not None:
            self.string_suffix = _datatype_suffix(self.datatype)
        elif self.language is UNSET:
            self.string_suffix = None
        else:
            self.string_suffix = f"@{self.language}" if self.language else ""
        if self.direction is UNSET:
            self.direction_mode = _DIRECTION_FROM_CONTEXT
        else:
            self.direction_mode = _DIRECTION_SET if self.direction else _DIRECTION_NONE
        # Plain properties take the converter's fast path.
        self.plain = not (
            self.kw
            or self.reverse
            or self.map_container
            or self.scoped is not UNSET
            or type_ == "@json"
            or self.is_graph
            or self.is_list
            or self.blank_predicate
            or self.unsafe_iri
        )
        # String values become literals with no per-value decision beyond escaping.
        self.plain_string = (
            self.plain and self.ref_kind == _REF_NONE and self.direction_mode != _DIRECTION_SET
        )

    def same_definition(self, other: Term) -> bool:
        """Equal in every respect that changes meaning (the protected-term comparison)."""
        return (
            self.iri == other.iri
            and self.reverse == other.reverse
            and self.type == other.type
            and self.container == other.container
            and self.index == other.index
            and _same_json(self.scoped, other.scoped)
            and self.language == other.language
            and self.direction == other.direction
            and self.nest == other.nest
            and self.prefix == other.prefix
            and self.has_colon == other.has_colon
        )


_REF_NONE, _REF_ID, _REF_VOCAB = 0, 1, 2
_DIRECTION_FROM_CONTEXT, _DIRECTION_NONE, _DIRECTION_SET = 0, 1, 2


def _same_json(a: Any, b: Any) -> bool:
    if a is UNSET or b is UNSET:
        return a is b
    return bool(a == b)


def _datatype_suffix(datatype: str) -> str:
    return "" if datatype == _XSD_STRING else f"^^<{datatype}>"


_KEYWORD_TERMS: Final = {keyword: Term(keyword) for keyword in _KEYWORDS}
_PLAIN_TERM: Final = _KEYWORD_TERMS["@none"]  # coercion rules of a value with no term


class ActiveContext:
    """An immutable processed context plus caches of everything derived from it.

    Children (contexts processed on top of this one) hang off `_children` (term-scoped
    contexts) and `_document_children` (contexts documents name, bounded), so the whole cache is
    a tree rooted at `INITIAL_CONTEXT` that lives as long as the process.
    """

    __slots__ = (
        "_children",
        "_document_children",
        "_keys",
        "_type_contexts",
        "_type_terms",
        "_types",
        "direction",
        "has_protected",
        "id_keys",
        "language",
        "previous",
        "string_suffix",
        "terms",
        "type_keys",
        "value_keys",
        "vocab",
    )

    def __init__(self) -> None:
        self.terms: dict[str, Term | None] = {}
        self.vocab: str | None = None
        self.language: str | None = None
        self.direction: str | None = None
        # The context to revert to when entering a new node object (type-scoped contexts do
        # not propagate); None when nothing is to be reverted.
        self.previous: ActiveContext | None = None
        self.has_protected = False
        self.string_suffix = ""
        # Keys that stand for @type / @id / @value here (the keyword and its aliases).
        self.type_keys: tuple[str, ...] = ("@type",)
        self.id_keys: frozenset[str] = frozenset(["@id"])
        self.value_keys: frozenset[str] = frozenset(["@value"])
        self._children: dict[tuple[Any, ...], tuple[Any, ActiveContext]] = {}
        self._document_children: dict[tuple[Any, ...], tuple[Any, ActiveContext]] = {}
        self._keys: dict[str, Term | None] = {}
        self._types: dict[str, str | None] = {}
        self._type_terms: dict[str, str] = {}
        self._type_contexts: dict[Any, ActiveContext] = {}

    def clone(self) -> ActiveContext:
        copy = ActiveContext()
        copy.terms = dict(self.terms)
        copy.vocab = self.vocab
        copy.language = self.language
        copy.direction = self.direction
        copy.previous = self.previous
        return copy

    def seal(self) -> ActiveContext:
        """Finish derived fields once all definitions are in."""
        aliases: dict[str, list[str]] = {"@type": [], "@id": [], "@value": []}
        for name, term in self.terms.items():
            if term is not None and term.kw in aliases:
                aliases[term.kw].append(name)
        self.type_keys = ("@type", *sorted(aliases["@type"]))
        self.id_keys = frozenset(["@id", *aliases["@id"]])
        self.value_keys = frozenset(["@value", *aliases["@value"]])
        self.has_protected = any(t is not None and t.protected for t in self.terms.values())
        self.string_suffix = f"@{self.language}" if self.language else ""
        return self

    # Key and value expansion, cached per context (keys and types repeat across documents).

    def lookup(self, key: str) -> Term | None:
        """The term a JSON key stands for: a definition, a keyword, or an absolute IRI.

        None when the key expands to nothing absolute (an undefined term).
        """
        try:
            return self._keys[key]
        except KeyError:
            pass
        term = self._resolve_key(key)
        if len(self._keys) < _LOOKUP_CACHE_LIMIT:
            self._keys[key] = term
        return term

    def _resolve_key(self, key: str) -> Term | None:
        defined = self.terms.get(key, UNSET)
        if defined is not UNSET:
            if defined is None or defined.iri is None:
                return None
            return defined
        if key in _KEYWORDS:
            return _KEYWORD_TERMS[key]
        if _looks_like_keyword(key):
            return None
        iri = self.expand_vocab(key)
        if iri is None or not _is_absolute_iri(iri):
            return None
        return Term(iri)

    def expand_vocab(self, value: str) -> str | None:
        """IRI expansion relative to the vocabulary (terms, prefixes, `@vocab`)."""
        if value in self.terms:
            term = self.terms[value]
            return None if term is None else term.iri
        expanded = self._expand_prefix(value)
        if expanded is not None:
            return expanded
        if self.vocab is not None:
            return self.vocab + value
        return value

    def expand_id(self, value: str) -> str:
        """IRI expansion of a node reference (prefixes only; no base IRI is ever applied)."""
        expanded = self._expand_prefix(value)
        return value if expanded is None else expanded

    def _expand_prefix(self, value: str) -> str | None:
        colon = value.find(":")
        if colon <= 0:
            return None
        prefix, suffix = value[:colon], value[colon + 1 :]
        if prefix == "_" or suffix.startswith("//"):
            return value
        term = self.terms.get(prefix)
        if term is not None and term.prefix and term.iri is not None:
            return term.iri + suffix
        return value if _is_absolute_iri(value) else None

    def type_iri(self, value: str) -> str | None:
        """Expansion of an `@type` value: an absolute IRI or blank node, `@json`, else None."""
        try:
            return self._types[value]
        except KeyError:
            pass
        if value in _KEYWORDS:
            iri: str | None = value if value == "@json" else None
        elif _looks_like_keyword(value):
            iri = None
        else:
            expanded = self.expand_vocab(value)
            iri = expanded if expanded is not None and _is_absolute_iri(expanded) else None
        if len(self._types) < _LOOKUP_CACHE_LIMIT:
            self._types[value] = iri
        return iri


INITIAL_CONTEXT: Final = ActiveContext().seal()
"""The empty active context every document starts from (root of the context cache)."""


def _context_cache_key(
    local: Any, propagate: bool, override: bool, from_document: bool
) -> tuple[tuple[Any, ...], Any]:
    """A cache key for (context value, flags) and the object to pin, if keyed by identity."""
    flags = (propagate, override)
    if isinstance(local, str):
        return ("url", local, *flags), None
    if local is None:
        return ("null", *flags), None
    if isinstance(local, list) and all(isinstance(item, str) for item in local):
        return ("urls", tuple(local), *flags), None
    if from_document:
        # A document's inline context is a fresh object each time: key it by content.
        try:
            text = json.dumps(local, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise JsonLdSyntaxError(
                "a context is not valid JSON", code="invalid local context"
            ) from exc
        return ("json", text, *flags), None
    # Scoped contexts come from term definitions that live as long as the cache; the cache
    # entry pins the object so its id cannot be reused by another object while cached.
    return ("id", id(local), *flags), local


def process_context(
    active: ActiveContext,
    local: Any,
    *,
    propagate: bool = True,
    override_protected: bool = False,
    from_document: bool = True,
) -> ActiveContext:
    """The active context after processing `local` on top of `active` (cached)."""
    key, pin = _context_cache_key(local, propagate, override_protected, from_document)
    # Contexts named by documents go to a bounded cache, so a stream of novel documents cannot
    # grow memory or evict the contexts of term definitions.
    cache = active._document_children if from_document else active._children
    cached = cache.get(key)
    if cached is not None and cached[0] is pin:
        return cached[1]
    result = _process_uncached(active, local, propagate, override_protected)
    if from_document and len(cache) >= _DOCUMENT_CONTEXT_CACHE_LIMIT:
        cache.clear()
    cache[key] = (pin, result)
    return result


def _process_uncached(
    active: ActiveContext, local: Any, propagate: bool, override: bool
) -> ActiveContext:
    contexts = _resolve_contexts(local if isinstance(local, list) else [local], (), 0)
    if not contexts:
        return active
    first = contexts[0]
    if isinstance(first, dict) and isinstance(first.get("@propagate"), bool):
        propagate = first["@propagate"]
    result = active
    if not propagate and result.previous is None:
        # Type-scoped contexts remember where to revert to when a nested node begins.
        result = active.clone()
        result.previous = active
        result.seal()
    for context in contexts:
        if context is None:
            if not override and result.has_protected:
                raise JsonLdSyntaxError(
                    "a null context cannot clear protected terms",
                    code="invalid context nullification",
                )
            result = INITIAL_CONTEXT
            continue
        result = _apply_local_context(result, context, override)
    return result


def _resolve_contexts(
    items: list[Any], loading: tuple[str, ...], depth: int
) -> list[dict[str, Any] | None]:
    """Flatten a context array, replacing URLs by the bundled documents' `@context` values."""
    if depth > _MAX_CONTEXT_NESTING:
        raise JsonLdSyntaxError("contexts nest too deeply", code="context overflow")
    resolved: list[dict[str, Any] | None] = []
    for item in items:
        if item is None:
            resolved.append(None)
        elif isinstance(item, str):
            if item in loading:
                raise JsonLdSyntaxError(
                    f"context {item!r} includes itself", code="recursive context inclusion"
                )
            document = loader.shared_context(item)
            if not isinstance(document, dict) or "@context" not in document:
                raise JsonLdSyntaxError(f"{item!r} has no @context", code="invalid remote context")
            inner = document["@context"]
            nested = inner if isinstance(inner, list) else [inner]
            resolved.extend(_resolve_contexts(nested, (*loading, item), depth + 1))
        elif isinstance(item, dict):
            if "@context" in item:
                raise JsonLdSyntaxError(
                    "a local context cannot contain @context", code="invalid local context"
                )
            resolved.append(item)
        else:
            raise JsonLdSyntaxError(
                "a context must be an object, a URL or null", code="invalid local context"
            )
    return resolved


def _apply_local_context(
    active: ActiveContext, local: dict[str, Any], override: bool
) -> ActiveContext:
    """JSON-LD 1.1 Context Processing, steps 5.5 to 5.13, for one local context object."""
    result = active.clone()
    if "@version" in local and local["@version"] != 1.1:
        raise JsonLdSyntaxError("only @version 1.1 is defined", code="invalid @version value")
    if "@import" in local:
        raise UnsupportedJsonLd("@import in contexts is not supported")
    if local.get("@base") is not None:
        raise UnsupportedJsonLd("@base in contexts is not supported (no base IRI is used)")
    if "@vocab" in local:
        result.vocab = _vocab_mapping(result, local["@vocab"])
    if "@language" in local:
        result.language = _language_mapping(local["@language"], "invalid default language")
    if "@direction" in local:
        result.direction = _direction_mapping(local["@direction"])
    if "@propagate" in local and not isinstance(local["@propagate"], bool):
        raise JsonLdSyntaxError("@propagate must be a boolean", code="invalid @propagate value")
    protected = local.get("@protected", False)
    if not isinstance(protected, bool):
        raise JsonLdSyntaxError("@protected must be a boolean", code="invalid @protected value")
    definer = _TermDefiner(result, local, protected=protected, override=override)
    for term in local:
        if term not in _CONTEXT_KEYWORDS:
            definer.define(term)
    return result.seal()


def _vocab_mapping(context: ActiveContext, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise JsonLdSyntaxError("@vocab must be a string or null", code="invalid vocab mapping")
    vocab = context.expand_vocab(value)
    if vocab is None or not _is_absolute_iri(vocab):
        # jsonld.js accepts it and reports a "relative @vocab reference"; relative IRIs are
        # never signed here, so refuse the context itself.
        raise UnsupportedJsonLd(f"relative @vocab {value!r} is not supported")
    return vocab


def _language_mapping(value: Any, code: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise JsonLdSyntaxError("@language must be a string or null", code=code)
    return value.lower()


def _direction_mapping(value: Any) -> str | None:
    if value is None:
        return None
    if value not in ("ltr", "rtl"):
        raise JsonLdSyntaxError(
            '@direction must be null, "ltr" or "rtl"', code="invalid base direction"
        )
    return str(value)


class _TermDefiner:
    """JSON-LD 1.1 Create Term Definition, with the dependency tracking of `defined`."""

    def __init__(
        self, context: ActiveContext, local: dict[str, Any], *, protected: bool, override: bool
    ) -> None:
        self.context = context
        self.local = local
        self.protected = protected
        self.override = override
        self.defined: dict[str, bool] = {}

    def define(self, term: str) -> None:
        state = self.defined.get(term)
        if state is True:
            return
        if state is False:
            raise JsonLdSyntaxError(
                f"term {term!r} is defined through itself", code="cyclic IRI mapping"
            )
        self.defined[term] = False
        value = self.local[term]
        if term in _KEYWORDS:
            if term == "@type":
                raise UnsupportedJsonLd("redefining @type in a context is not supported")
            raise JsonLdSyntaxError(
                f"keyword {term} cannot be redefined", code="keyword redefinition"
            )
        if _looks_like_keyword(term):
            raise UnsupportedJsonLd(f"reserved term {term!r} in a context")
        if term == "":
            raise JsonLdSyntaxError("a term cannot be empty", code="invalid term definition")
        previous = self.context.terms.pop(term, None)
        simple = isinstance(value, str) or value is None
        definition: dict[str, Any] = {"@id": value} if simple else value
        if not isinstance(definition, dict):
            raise JsonLdSyntaxError(
                f"definition of {term!r} must be a string or object", code="invalid term definition"
            )
        unknown = set(definition) - _TERM_DEFINITION_KEYS
        if unknown:
            raise JsonLdSyntaxError(
                f"definition of {term!r} has {sorted(unknown)}", code="invalid term definition"
            )
        new = self._build(term, definition, simple)
        if previous is not None and previous.protected and not self.override:
            new.protected = True
            if not previous.same_definition(new):
                raise ProtectedTermRedefinition(
                    f"a context tried to redefine the protected term {term!r}"
                )
        self.context.terms[term] = new
        self.defined[term] = True

    def _build(self, term: str, definition: dict[str, Any], simple: bool) -> Term:
        colon = term.find(":")
        has_colon = colon > 0
        iri: str | None
        if "@reverse" in definition:
            # Parsed so contexts that define reverse terms still load; using one is refused.
            iri = self._reverse_iri(term, definition)
            prefix = False
            reverse = True
        else:
            iri, prefix = self._iri(term, definition, simple, has_colon, colon)
            reverse = False
        protected = bool(definition.get("@protected")) or (
            self.protected and definition.get("@protected", True) is not False
        )
        type_ = self._type_mapping(term, definition)
        container = self._container(term, definition, reverse)
        if container is not None and "@type" in container and type_ is None:
            type_ = "@id"
        index = definition.get("@index")
        if index is not None and (container is None or "@index" not in container):
            raise JsonLdSyntaxError(
                "@index without an @index container", code="invalid term definition"
            )
        language: str | _Unset | None = UNSET
        if "@language" in definition and "@type" not in definition:
            language = _language_mapping(definition["@language"], "invalid language mapping")
        direction: str | _Unset | None = UNSET
        if "@direction" in definition:
            direction = _direction_mapping(definition["@direction"])
        if "@prefix" in definition:
            prefix = self._prefix_flag(term, definition["@prefix"], iri)
        nest = definition.get("@nest")
        if nest is not None and (not isinstance(nest, str) or (nest != "@nest" and nest[0] == "@")):
            raise JsonLdSyntaxError("invalid @nest value", code="invalid @nest value")
        if iri in ("@context", "@preserve"):
            raise JsonLdSyntaxError(f"{iri} cannot be aliased", code="invalid keyword alias")
        return Term(
            iri,
            type_=type_,
            container=container,
            scoped=definition.get("@context", UNSET),
            language=language,
            direction=direction,
            reverse=reverse,
            index=index,
            nest=nest,
            protected=protected,
            prefix=prefix,
            has_colon=has_colon,
        )

    def _reverse_iri(self, term: str, definition: dict[str, Any]) -> str:
        if "@id" in definition or "@nest" in definition:
            raise JsonLdSyntaxError(
                f"reverse term {term!r} cannot have @id or @nest", code="invalid reverse property"
            )
        reverse = definition["@reverse"]
        if not isinstance(reverse, str) or _looks_like_keyword(reverse):
            raise UnsupportedJsonLd(f"reverse term {term!r} is not supported")
        iri = self.expand(reverse, vocab=True)
        if iri is None or not _is_absolute_iri(iri):
            raise JsonLdSyntaxError(
                f"reverse term {term!r} is not an IRI", code="invalid IRI mapping"
            )
        return iri

    def _iri(
        self, term: str, definition: dict[str, Any], simple: bool, has_colon: bool, colon: int
    ) -> tuple[str | None, bool]:
        if "@id" in definition and definition["@id"] != term:
            value = definition["@id"]
            if value is None:
                return None, False
            if not isinstance(value, str):
                raise JsonLdSyntaxError(
                    f"@id of {term!r} must be a string", code="invalid IRI mapping"
                )
            if value not in _KEYWORDS and _looks_like_keyword(value):
                raise UnsupportedJsonLd(f"term {term!r} maps to the reserved value {value!r}")
            iri = self.expand(value, vocab=True)
            if iri is None or not (_is_absolute_iri(iri) or iri in _KEYWORDS):
                raise JsonLdSyntaxError(
                    f"{term!r} does not map to an absolute IRI", code="invalid IRI mapping"
                )
            if _TERM_LOOKS_LIKE_IRI.match(term):
                self.defined[term] = True  # lets the term expand as an IRI, not as itself
                try:
                    as_iri = self.expand(term, vocab=True)
                finally:
                    self.defined[term] = False
                if as_iri != iri:
                    raise JsonLdSyntaxError(
                        f"term {term!r} looks like an IRI but maps elsewhere",
                        code="invalid IRI mapping",
                    )
            prefix = simple and not has_colon and (iri.startswith("_:") or iri[-1:] in _GEN_DELIMS)
            return iri, prefix
        if has_colon:
            parent = term[:colon]
            if parent in self.local:
                self.define(parent)
            parent_term = self.context.terms.get(parent)
            if parent_term is not None and parent_term.iri is not None:
                return parent_term.iri + term[colon + 1 :], False
            return term, False
        if self.context.vocab is None:
            raise JsonLdSyntaxError(
                f"term {term!r} needs an @id (no @vocab)", code="invalid IRI mapping"
            )
        return self.context.vocab + term, False

    def _type_mapping(self, term: str, definition: dict[str, Any]) -> str | None:
        if "@type" not in definition:
            return None
        value = definition["@type"]
        if not isinstance(value, str):
            raise JsonLdSyntaxError(
                f"@type of {term!r} must be a string", code="invalid type mapping"
            )
        if value in ("@id", "@vocab", "@json", "@none"):
            return value
        iri = self.expand(value, vocab=True)
        if iri is None or not _is_absolute_iri(iri) or iri.startswith("_:"):
            raise JsonLdSyntaxError(
                f"@type of {term!r} must be an absolute IRI", code="invalid type mapping"
            )
        return iri

    @staticmethod
    def _container(term: str, definition: dict[str, Any], reverse: bool) -> tuple[str, ...] | None:
        if "@container" not in definition:
            return None
        raw = definition["@container"]
        container = tuple(raw) if isinstance(raw, list) else (raw,)
        valid = all(isinstance(c, str) and c in _CONTAINERS for c in container)
        if "@list" in container:
            valid = valid and len(container) == 1
        elif "@graph" in container:
            valid = valid and set(container) <= {"@graph", "@id", "@index", "@set"}
        else:
            valid = valid and len(container) <= (2 if "@set" in container else 1)
        if not valid:
            raise JsonLdSyntaxError(
                f"invalid @container for {term!r}", code="invalid container mapping"
            )
        if reverse and not set(container) <= {"@index", "@set"}:
            raise JsonLdSyntaxError(
                f"invalid @container for {term!r}", code="invalid reverse property"
            )
        return container

    @staticmethod
    def _prefix_flag(term: str, value: Any, iri: str | None) -> bool:
        if ":" in term or "/" in term:
            raise JsonLdSyntaxError("@prefix on a compact IRI term", code="invalid term definition")
        if iri is not None and iri in _KEYWORDS:
            raise JsonLdSyntaxError("keywords cannot be prefixes", code="invalid term definition")
        if not isinstance(value, bool):
            raise JsonLdSyntaxError("@prefix must be a boolean", code="invalid @prefix value")
        return value

    def expand(self, value: str, *, vocab: bool) -> str | None:
        """IRI Expansion during context processing: defines dependencies on demand."""
        if value in _KEYWORDS:
            return value
        if _looks_like_keyword(value):
            return None
        local, defined, terms = self.local, self.defined, self.context.terms
        if value in local and defined.get(value) is not True:
            self.define(value)
        if vocab and value in terms:
            term = terms[value]
            return None if term is None else term.iri
        colon = value.find(":")
        if colon > 0:
            prefix, suffix = value[:colon], value[colon + 1 :]
            if prefix == "_" or suffix.startswith("//"):
                return value
            if prefix in local and not defined.get(prefix):
                self.define(prefix)
            parent = terms.get(prefix)
            if parent is not None and parent.prefix and parent.iri is not None:
                return parent.iri + suffix
            if _is_absolute_iri(value):
                return value
        if vocab and self.context.vocab is not None:
            return self.context.vocab + value
        return value


# --- numbers and JSON literals ---------------------------------------------------------------


def canonical_double(value: float) -> str:
    """xsd:double canonical form as jsonld.js writes it: `toExponential(15)`, zeros trimmed.

    Rounding is half-up on the exact binary value, as ECMAScript specifies (Python's `format`
    would round half-even and differ in rare ties).
    """
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("-Infinity" if value < 0 else "Infinity")
    if value == 0:
        return "0.0E0"
    sign = "-" if value < 0 else ""
    exact = Decimal(abs(value))  # the exact binary value, every digit of it
    exponent = exact.adjusted()
    rounded = exact.quantize(Decimal((0, (1,), exponent - 15)), rounding=ROUND_HALF_UP)
    digits = rounded.as_tuple().digits
    if len(digits) > _DOUBLE_DIGITS:  # 9.999…5 rounded up to 10.000…
        exponent += 1
        digits = digits[:_DOUBLE_DIGITS]
    fraction = "".join(map(str, digits[1:])).rstrip("0") or "0"
    return f"{sign}{digits[0]}.{fraction}E{exponent}"


def _js_parse_float(text: str) -> float:
    """ECMAScript `parseFloat`: the longest numeric prefix after leading whitespace, else NaN."""
    match = _JS_PARSE_FLOAT.match(text.lstrip(" \t\n\v\f\r\u00a0\ufeff"))
    if match is None:
        return math.nan
    return float(match.group(0).replace("Infinity", "inf"))


def _es_number(value: float) -> str:
    """ECMAScript Number::toString, as JSON canonicalisation (RFC 8785) requires."""
    if not math.isfinite(value):
        raise JsonLdSyntaxError(
            "JSON literals cannot hold NaN or Infinity", code="invalid JSON literal"
        )
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    text = repr(abs(value))  # shortest round-trip digits, like ECMAScript
    mantissa, _, exp = text.partition("e")
    point = mantissa.find(".")
    digits = mantissa.replace(".", "")
    position = (len(mantissa) if point == -1 else point) + (int(exp) if exp else 0)
    stripped = digits.lstrip("0")
    position -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    count = len(digits)
    if count <= position <= 21:
        body = digits + "0" * (position - count)
    elif 0 < position <= 21:
        body = digits[:position] + "." + digits[position:]
    elif -6 < position <= 0:
        body = "0." + "0" * -position + digits
    else:
        power = position - 1
        fraction = "." + digits[1:] if count > 1 else ""
        body = f"{digits[0]}{fraction}e{'+' if power >= 0 else '-'}{abs(power)}"
    return sign + body


def canonical_json(value: Any) -> str:
    """RFC 8785 JSON Canonicalization Scheme text of a JSON value (for `@json` literals)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value) if abs(value) < _TWO_POW_53 else _es_number(float(value))
    if isinstance(value, float):
        return _es_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    if isinstance(value, dict):
        # Keys sort by UTF-16 code units, not code points (RFC 8785, section 3.2.3).
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        members = (json.dumps(k, ensure_ascii=False) + ":" + canonical_json(value[k]) for k in keys)
        return "{" + ",".join(members) + "}"
    raise JsonLdSyntaxError(
        f"{type(value).__name__} is not a JSON value", code="invalid JSON literal"
    )


# --- the converter ---------------------------------------------------------------------------

_Path = tuple[Any, ...] | None  # (parent path, key or index), None at the root


def format_path(path: _Path) -> str:
    """`credentialSubject.achievement.alignment[2].targetName` from a linked path."""
    parts: list[str] = []
    while path is not None:
        path, step = path
        parts.append(f"[{step}]" if isinstance(step, int) else f".{step}")
    text = "".join(reversed(parts)).lstrip(".")
    return text or "(document root)"


def _embedded_context(context: ActiveContext, local: Any, path: _Path) -> ActiveContext:
    """Process a document's own `@context`, locating any failure at it."""
    try:
        return process_context(context, local)
    except JsonLdError as exc:
        if exc.path is None:
            exc.path = format_path((path, "@context"))
        raise


def _check_index(keywords: dict[str, tuple[str, Any]], path: _Path) -> None:
    """`@index` carries no RDF, but must still be a string."""
    entry = keywords.get("@index")
    if entry is not None and not isinstance(entry[1], str):
        raise JsonLdSyntaxError(
            f"@index at {format_path((path, entry[0]))} must be a string",
            code="invalid @index value",
        )


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float)  # bool is an int


class _Converter:
    """Walks one document and collects its quads (the JSON-LD node map stays implicit).

    Methods mirror the expansion algorithm: `_values` (arrays and scalars), `_object` (context
    handling, then node, value, list or set object), `_property` (one key of a node).
    """

    __slots__ = ("_blank_nodes", "_count", "quads", "safe")

    def __init__(self, safe: bool) -> None:
        self.safe = safe
        self.quads: set[Quad] = set()
        self._count = 0
        self._blank_nodes: dict[str, str] = {}

    # Blank nodes: fresh ones, and the document's own `_:x` labels mapped into our namespace.

    def _fresh(self) -> str:
        self._count += 1
        return f"_:b{self._count}"

    def _blank(self, label: str) -> str:
        mapped = self._blank_nodes.get(label)
        if mapped is None:
            mapped = self._blank_nodes[label] = self._fresh()
        return mapped

    def _unsafe(self, message: str, path: _Path) -> None:
        """Data a processor would drop: an error in safe mode, silently skipped otherwise."""
        if self.safe:
            raise SafeModeViolation(message, format_path(path))

    def _iri_term(self, iri: str, path: _Path) -> str:
        if iri.startswith("_:"):
            return self._blank(iri)
        if self.safe and _IRI_UNSAFE.search(iri):
            raise SafeModeViolation(
                f"IRI {iri!r} contains characters IRIs cannot hold", format_path(path)
            )
        return f"<{iri}>"

    # Documents.

    def document(self, document: Any) -> None:
        if isinstance(document, list):
            for index, item in enumerate(document):
                self._top_level(item, (None, index))
        else:
            self._top_level(document, None)

    def _top_level(self, element: Any, path: _Path) -> None:
        if not isinstance(element, dict):
            if element is not None:
                self._unsafe("a value outside any node object would be dropped", path)
            return
        # `{"@context": …, "@graph": […]}` describes the default graph itself.
        context = INITIAL_CONTEXT
        if "@context" in element:
            context = _embedded_context(context, element["@context"], path)
        keys = [k for k in element if k != "@context"]
        if len(keys) == 1:
            term = context.lookup(keys[0])
            if term is not None and term.kw == "@graph":
                self._graph_items(context, keys[0], element[keys[0]], "", (path, keys[0]), 1)
                return
        self._object([], INITIAL_CONTEXT, None, None, element, "", path, False, True, 0)

    def _graph_items(
        self, context: ActiveContext, key: str, value: Any, graph: str, path: _Path, depth: int
    ) -> None:
        if not isinstance(value, dict | list):
            raise JsonLdSyntaxError(
                "@graph must be an object or an array", code="invalid @graph value"
            )
        self._values([], context, key, None, value, graph, path, False, True, depth)

    # Values (arrays, scalars, objects), appended to `out` as RDF terms.

    def _values(
        self,
        out: list[str],
        context: ActiveContext,
        key: str | None,
        term: Term | None,
        value: Any,
        graph: str,
        path: _Path,
        inside_list: bool,
        free_floating: bool,
        depth: int,
    ) -> int:
        """Expand `value` into RDF terms; returns how many came out (a nested list counts 1)."""
        if isinstance(value, dict):
            return self._object(
                out, context, key, term, value, graph, path, inside_list, free_floating, depth
            )
        if isinstance(value, list):
            return self._array(
                out, context, key, term, value, graph, path, inside_list, free_floating, depth
            )
        if value is None:
            return 0
        return self._scalar(out, context, key, term, value, path, inside_list, free_floating)

    def _array(
        self,
        out: list[str],
        context: ActiveContext,
        key: str | None,
        term: Term | None,
        items: list[Any],
        graph: str,
        path: _Path,
        inside_list: bool,
        free_floating: bool,
        depth: int,
    ) -> int:
        before = len(out)
        depth += 1
        for index, item in enumerate(items):
            if item is None:
                continue
            item_path = (path, index)
            if isinstance(item, dict):
                self._object(
                    out,
                    context,
                    key,
                    term,
                    item,
                    graph,
                    item_path,
                    inside_list,
                    free_floating,
                    depth,
                )
            elif not isinstance(item, list):
                self._scalar(out, context, key, term, item, item_path, inside_list, free_floating)
            elif inside_list:  # an array in a list is a nested list
                nested: list[str] = []
                self._array(nested, context, key, term, item, graph, item_path, True, False, depth)
                out.append(self._list(nested, graph))
            else:  # arrays in arrays flatten
                self._array(
                    out, context, key, term, item, graph, item_path, False, free_floating, depth
                )
        return len(out) - before

    def _scalar(
        self,
        out: list[str],
        context: ActiveContext,
        key: str | None,
        term: Term | None,
        value: Any,
        path: _Path,
        inside_list: bool,
        free_floating: bool,
    ) -> int:
        """Value Expansion of a string, number or boolean, appended as an RDF term."""
        if free_floating and not inside_list:
            self._unsafe("a value outside any node object would be dropped", path)
            return 0
        if term is None:
            term = (context.lookup(key) if key is not None else None) or _PLAIN_TERM
        if isinstance(value, str):
            literal = self._string(context, term, value, path)
            if literal is None:
                return 0
        else:
            literal = self._native_literal(value, term.datatype, path)
        out.append(literal)
        return 1

    def _string(self, context: ActiveContext, term: Term, value: str, path: _Path) -> str | None:
        """The RDF term of a string value of `term`: a literal or a node reference."""
        kind = term.ref_kind
        if kind == _REF_NONE:
            suffix = term.string_suffix
            if suffix is None:
                suffix = context.string_suffix
            if self.safe and term.datatype is None:
                mode = term.direction_mode
                if mode == _DIRECTION_SET or (
                    mode == _DIRECTION_FROM_CONTEXT and context.direction
                ):
                    raise SafeModeViolation(
                        "@direction cannot be expressed in RDF here (rdfDirection not set)",
                        format_path(path),
                    )
            return f'"{escape_literal(value)}"{suffix}'
        iri = context.expand_id(value) if kind == _REF_ID else context.expand_vocab(value)
        if iri is not None and _SAFE_ABSOLUTE_IRI.fullmatch(iri):
            return f"<{iri}>"
        if iri is None or not _is_absolute_iri(iri):
            self._unsafe(f"{value!r} is not an absolute IRI (relative object reference)", path)
            return None
        return self._iri_term(iri, path)

    def _native_literal(self, value: Any, datatype: str | None, path: _Path) -> str:
        """RDF literal of a JSON boolean or number (Object to RDF Conversion, step 9)."""
        if value is True or value is False:
            lexical = "true" if value else "false"
            datatype = datatype or _XSD_BOOLEAN
        elif isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                raise JsonLdSyntaxError(f"{value} is not a JSON number at {format_path(path)}")
            if isinstance(value, int) and abs(value) > _TWO_POW_53:
                # JSON numbers are IEEE doubles to the verifiers we interoperate with.
                value = float(value)
            is_double = abs(value) >= _DOUBLE_THRESHOLD or (
                isinstance(value, float) and not value.is_integer()
            )
            if is_double or datatype == _XSD_DOUBLE:
                lexical = canonical_double(float(value))
                datatype = datatype or _XSD_DOUBLE
            else:
                lexical = str(int(value))
                datatype = datatype or _XSD_INTEGER
        else:
            raise JsonLdSyntaxError(
                f"{type(value).__name__} is not a JSON value at {format_path(path)}"
            )
        return f'"{lexical}"{_datatype_suffix(datatype)}'

    # Objects: node objects, value objects, list and set objects.

    def _object(
        self,
        out: list[str],
        context: ActiveContext,
        key: str | None,
        property_term: Term | None,
        element: dict[str, Any],
        graph: str,
        path: _Path,
        inside_list: bool,
        free_floating: bool,
        depth: int,
    ) -> int:
        if depth > _MAX_DEPTH:
            raise JsonLdSyntaxError(f"the document nests deeper than {_MAX_DEPTH} levels")
        if property_term is None and key is not None:
            property_term = context.lookup(key)
        # Type-scoped contexts apply to one node only: revert them when a new node object
        # begins (but not for value objects and bare references, as jsonld.js does).
        if context.previous is not None:
            revert = True
            size = len(element)
            if size <= 2 and "@context" not in element:
                for k in element:
                    if k in context.value_keys or (size == 1 and k in context.id_keys):
                        revert = False
                        break
            if revert:
                context = context.previous
        if property_term is not None and property_term.scoped is not UNSET:
            context = process_context(
                context, property_term.scoped, override_protected=True, from_document=False
            )
        if "@context" in element:
            context = _embedded_context(context, element["@context"], path)
        type_scoped = context
        types: list[tuple[str, Any]] = []
        for k in context.type_keys:
            if k in element:
                types.append((k, element[k]))
        if types:
            context = self._with_type_contexts(context, types, path)

        keywords: dict[str, tuple[str, Any]] = {}
        properties: list[tuple[str, Any, Term]] = []
        lookup = context.lookup
        for k, v in element.items():
            term = lookup(k)
            if term is None:
                self._unsafe(f"property {k!r} is not defined by the document's contexts", (path, k))
                continue
            keyword = term.kw
            if keyword is None:
                properties.append((k, v, term))
            elif keyword in ("@type", "@context"):
                continue
            elif keyword in keywords:
                raise JsonLdSyntaxError(
                    f"{k!r} collides with another {keyword}", code="colliding keywords"
                )
            else:
                keywords[keyword] = (k, v)

        if "@value" in keywords:
            return self._value_object(
                out, type_scoped, keywords, types, properties, path, inside_list, free_floating
            )
        if "@list" in keywords or "@set" in keywords:
            return self._list_or_set(
                out,
                context,
                key,
                keywords,
                types,
                properties,
                graph,
                path,
                inside_list,
                free_floating,
                depth,
            )
        return self._node(
            out,
            context,
            type_scoped,
            keywords,
            types,
            properties,
            graph,
            path,
            inside_list,
            free_floating,
            depth,
        )

    def _with_type_contexts(
        self, context: ActiveContext, types: list[tuple[str, Any]], path: _Path
    ) -> ActiveContext:
        """Apply the type-scoped contexts of the node's types (sorted, as the spec requires)."""
        cache_key: Any = None
        if len(types) == 1:
            value = types[0][1]
            cache_key = (
                value
                if isinstance(value, str)
                else (tuple(value) if isinstance(value, list) else None)
            )
        cache = context._type_contexts
        if cache_key is not None:
            try:
                cached = cache.get(cache_key)
            except TypeError:  # unhashable members: rejected below
                cached = cache_key = None
            if cached is not None:
                return cached
        names: list[str] = []
        for k, value in types:
            listed = value if isinstance(value, list) else [value]
            if not all(isinstance(t, str) for t in listed):
                raise JsonLdSyntaxError(
                    f"@type at {format_path((path, k))} must be a string or an array of strings",
                    code="invalid type value",
                )
            names.extend(sorted(listed))
        result = context
        for name in names:
            term = context.terms.get(name)
            if term is not None and term.scoped is not UNSET:
                result = process_context(result, term.scoped, propagate=False, from_document=False)
        if cache_key is not None and len(cache) < _LOOKUP_CACHE_LIMIT:
            cache[cache_key] = result
        return result

    def _node(
        self,
        out: list[str],
        context: ActiveContext,
        type_scoped: ActiveContext,
        keywords: dict[str, tuple[str, Any]],
        types: list[tuple[str, Any]],
        properties: list[tuple[str, Any, Term]],
        graph: str,
        path: _Path,
        inside_list: bool,
        free_floating: bool,
        depth: int,
    ) -> int:
        if keywords:
            for unsupported in ("@reverse", "@nest", "@included", "@direction"):
                if unsupported in keywords:
                    where = format_path((path, keywords[unsupported][0]))
                    raise UnsupportedJsonLd(f"{unsupported} at {where} is not supported")
            _check_index(keywords, path)
        subject = self._subject(context, keywords, path)
        for type_key, value in types:
            if isinstance(value, str):
                self._type(subject, type_scoped, value, graph, (path, type_key))
            else:
                for index, name in enumerate(value):
                    self._type(subject, type_scoped, name, graph, ((path, type_key), index))
        count = len(keywords) + (1 if types else 0)
        context_direction = context.direction
        add = self.quads.add
        for k, value, term in properties:
            if (
                term.plain_string
                and isinstance(value, str)
                and (term.string_suffix is not None or not context_direction)
            ):
                # The commonest case, inlined: a string property that becomes a literal.
                if not (value.isprintable() and '"' not in value and "\\" not in value):
                    value = value.translate(_LITERAL_ESCAPES)  # noqa: PLW2901 - escaped form
                suffix = term.string_suffix
                if subject is not None:
                    literal = f'"{value}"{context.string_suffix if suffix is None else suffix}'
                    add((subject, term.nq, literal, graph))
                count += 1
            elif (value is not None or term.type == "@json") and self._property(
                subject, context, k, value, term, graph, (path, k), depth
            ):
                count += 1
        if "@graph" in keywords:
            graph_key, graph_value = keywords["@graph"]
            if subject is not None:
                self._graph_items(
                    context, graph_key, graph_value, subject, (path, graph_key), depth + 1
                )
        if count == 1 and "@language" in keywords:
            self._unsafe("an object with only @language would be dropped", path)
            return 0
        if free_floating and not inside_list:
            if count == 0:
                self._unsafe("an empty object would be dropped", path)
                return 0
            if count == 1 and "@id" in keywords:
                self._unsafe("an object with only @id would be dropped", path)
                return 0
        if subject is None:
            return 0
        out.append(subject)
        return 1

    def _subject(
        self, context: ActiveContext, keywords: dict[str, tuple[str, Any]], path: _Path
    ) -> str | None:
        """The node's RDF term: its `@id`, or a fresh blank node; None if relative."""
        entry = keywords.get("@id")
        if entry is None:
            return self._fresh()
        id_key, id_value = entry
        if not isinstance(id_value, str):
            raise JsonLdSyntaxError(
                f"@id at {format_path((path, id_key))} must be a string", code="invalid @id value"
            )
        iri = context.expand_id(id_value)
        if _SAFE_ABSOLUTE_IRI.fullmatch(iri):
            return f"<{iri}>"
        if not _is_absolute_iri(iri):
            self._unsafe(
                f"@id {id_value!r} is not an absolute IRI (relative @id reference)", (path, id_key)
            )
            return None
        return self._iri_term(iri, (path, id_key))

    def _type(
        self, subject: str | None, context: ActiveContext, name: str, graph: str, path: _Path
    ) -> None:
        """One `rdf:type` triple; `context` is the one in force before type-scoped contexts."""
        term = context._type_terms.get(name)
        if term is None:
            iri = context.type_iri(name)
            if iri is None or iri == "@json":
                self._unsafe(f"type {name!r} is not defined by the document's contexts", path)
                return
            term = self._iri_term(iri, path)
            cacheable = not iri.startswith("_:") and not _IRI_UNSAFE.search(iri)
            if cacheable and len(context._type_terms) < _LOOKUP_CACHE_LIMIT:
                context._type_terms[name] = term
        if subject is not None:
            self.quads.add((subject, RDF_TYPE, term, graph))

    def _property(
        self,
        subject: str | None,
        context: ActiveContext,
        key: str,
        value: Any,
        term: Term,
        graph: str,
        path: _Path,
        depth: int,
    ) -> bool:
        """Emit the triples of one property; True when the property expanded to something."""
        if not term.plain:
            return self._special_property(subject, context, key, value, term, graph, path, depth)
        if isinstance(value, str):
            literal = self._string(context, term, value, path)
            if literal is not None and subject is not None:
                self.quads.add((subject, term.nq, literal, graph))
            return True
        objects: list[str] = []
        produced = self._values(
            objects, context, key, term, value, graph, path, False, False, depth + 1
        )
        if subject is not None:
            predicate, add = term.nq, self.quads.add
            for obj in objects:
                add((subject, predicate, obj, graph))
        return produced > 0 or not isinstance(value, dict)

    def _special_property(
        self,
        subject: str | None,
        context: ActiveContext,
        key: str,
        value: Any,
        term: Term,
        graph: str,
        path: _Path,
        depth: int,
    ) -> bool:
        """Properties with a scoped context, a container, `@json`, or an odd IRI."""
        if term.reverse:
            raise UnsupportedJsonLd(
                f"reverse property {key!r} at {format_path(path)} is not supported"
            )
        if term.map_container and isinstance(value, dict):
            raise UnsupportedJsonLd(
                f"{key!r} at {format_path(path)} uses an index, language, id or type map"
            )
        if term.blank_predicate:
            self._unsafe(f"property {key!r} maps to a blank node, not an IRI", path)
            subject = None  # its values are still expanded, the triple is not emitted
        elif term.unsafe_iri and self.safe:
            raise SafeModeViolation(
                f"property {key!r} maps to an IRI with characters IRIs cannot hold",
                format_path(path),
            )
        predicate = term.nq
        term_context, value_term = context, term
        if term.scoped is not UNSET:
            term_context = process_context(
                context, term.scoped, override_protected=True, from_document=False
            )
            value_term = term_context.lookup(key) or term
        if term.type == "@json":
            literal = f'"{escape_literal(canonical_json(value))}"^^<{_RDF_JSON}>'
            if subject is not None:
                self.quads.add((subject, predicate, literal, graph))
            return True
        if term.is_graph:
            return self._graph_container(
                subject, predicate, term_context, key, value_term, value, graph, path, depth
            )
        objects: list[str] = []
        if term.is_list:
            produced = self._values(
                objects, term_context, key, value_term, value, graph, path, True, False, depth + 1
            )
            explicit = isinstance(value, dict) and self._is_list_object(term_context, value)
            if not (explicit and produced == 1):
                objects = [self._list(objects, graph)]
        else:
            produced = self._values(
                objects,
                term_context,
                key,
                value_term,
                value,
                graph,
                path,
                False,
                False,
                depth + 1,
            )
        if subject is not None:
            for obj in objects:
                self.quads.add((subject, predicate, obj, graph))
        return produced > 0 or not isinstance(value, dict)

    @staticmethod
    def _is_list_object(context: ActiveContext, value: dict[str, Any]) -> bool:
        for k in value:
            term = context.lookup(k)
            if term is not None and term.kw == "@list":
                return True
        return False

    def _graph_container(
        self,
        subject: str | None,
        predicate: str,
        context: ActiveContext,
        key: str,
        term: Term,
        value: Any,
        graph: str,
        path: _Path,
        depth: int,
    ) -> bool:
        """`@container: @graph` (VC proofs): each value is a node in its own blank-node graph."""
        items = value if isinstance(value, list) else [value]
        produced = False
        for index, item in enumerate(items):
            if item is None:
                continue
            item_path = (path, index) if items is value else path
            if isinstance(item, list):
                raise UnsupportedJsonLd(
                    f"nested arrays in a graph container at {format_path(item_path)}"
                )
            if not isinstance(item, dict):
                # jsonld.js drops it ("object with only @id" / "@value") with no triple at all.
                self._unsafe(
                    "a bare value or reference in a graph container would be dropped", item_path
                )
                continue
            name = self._fresh()
            nodes: list[str] = []
            self._values(nodes, context, key, term, item, name, item_path, False, True, depth + 1)
            if nodes:
                produced = True
                if subject is not None:
                    self.quads.add((subject, predicate, name, graph))
        return produced

    def _list_or_set(
        self,
        out: list[str],
        context: ActiveContext,
        key: str | None,
        keywords: dict[str, tuple[str, Any]],
        types: list[tuple[str, Any]],
        properties: list[tuple[str, Any, Term]],
        graph: str,
        path: _Path,
        inside_list: bool,
        free_floating: bool,
        depth: int,
    ) -> int:
        is_list = "@list" in keywords
        keyword = "@list" if is_list else "@set"
        if properties or types or set(keywords) - {keyword, "@index"}:
            raise JsonLdSyntaxError(
                f"{keyword} at {format_path(path)} may only sit next to @index",
                code="invalid set or list object",
            )
        entry_key, value = keywords[keyword]
        entry_path = (path, entry_key)
        if not is_list:
            return self._values(
                out,
                context,
                key,
                None,
                value,
                graph,
                entry_path,
                inside_list,
                free_floating,
                depth + 1,
            )
        if free_floating and not inside_list:
            self._unsafe("a list outside any node object would be dropped", path)
            return 0
        items: list[str] = []
        self._values(items, context, key, None, value, graph, entry_path, True, False, depth + 1)
        out.append(self._list(items, graph))
        return 1

    def _list(self, items: list[str], graph: str) -> str:
        """An RDF collection (rdf:first / rdf:rest) of `items`; its head, or rdf:nil."""
        if not items:
            return RDF_NIL
        head = node = self._fresh()
        last = len(items) - 1
        add = self.quads.add
        for index, item in enumerate(items):
            add((node, RDF_FIRST, item, graph))
            following = RDF_NIL if index == last else self._fresh()
            add((node, RDF_REST, following, graph))
            node = following
        return head

    def _value_object(
        self,
        out: list[str],
        type_scoped: ActiveContext,
        keywords: dict[str, tuple[str, Any]],
        types: list[tuple[str, Any]],
        properties: list[tuple[str, Any, Term]],
        path: _Path,
        inside_list: bool,
        free_floating: bool,
    ) -> int:
        if properties or not set(keywords) <= _VALUE_OBJECT_KEYS or len(types) > 1:
            raise JsonLdSyntaxError(
                f"invalid value object at {format_path(path)}", code="invalid value object"
            )
        _check_index(keywords, path)
        value_key, value = keywords["@value"]
        datatype = self._value_datatype(type_scoped, types, path)
        language = keywords.get("@language", (None, None))[1]
        if "@direction" in keywords:
            self._unsafe("@direction cannot be expressed in RDF here (rdfDirection not set)", path)
        if datatype is not None and ("@language" in keywords or "@direction" in keywords):
            raise JsonLdSyntaxError(
                f"@type next to @language at {format_path(path)}", code="invalid value object"
            )
        if datatype == "@json":
            literal = f'"{escape_literal(canonical_json(value))}"^^<{_RDF_JSON}>'
        else:
            if value is None:
                self._unsafe("a null @value would be dropped", (path, value_key))
                return 0
            if not _is_scalar(value):
                raise JsonLdSyntaxError(
                    f"@value at {format_path(path)} must be a scalar",
                    code="invalid value object value",
                )
            literal = self._typed_literal(value, datatype, language, path)
        if free_floating and not inside_list:
            self._unsafe("a value outside any node object would be dropped", path)
            return 0
        out.append(literal)
        return 1

    def _value_datatype(
        self, type_scoped: ActiveContext, types: list[tuple[str, Any]], path: _Path
    ) -> str | None:
        if not types:
            return None
        type_key, type_value = types[0]
        if not isinstance(type_value, str):
            raise JsonLdSyntaxError(
                f"@type of the value at {format_path(path)} must be a string",
                code="invalid typed value",
            )
        datatype = type_scoped.type_iri(type_value)
        if datatype is None or datatype.startswith("_:"):
            self._unsafe(
                f"datatype {type_value!r} is not an absolute IRI (relative @type reference)",
                (path, type_key),
            )
            raise JsonLdSyntaxError(
                f"invalid datatype at {format_path(path)}", code="invalid typed value"
            )
        if datatype != "@json" and self.safe and _IRI_UNSAFE.search(datatype):
            raise SafeModeViolation(
                f"datatype {datatype!r} contains characters IRIs cannot hold", format_path(path)
            )
        return datatype

    def _typed_literal(self, value: Any, datatype: str | None, language: Any, path: _Path) -> str:
        if language is not None:
            if not isinstance(language, str) or not isinstance(value, str):
                raise JsonLdSyntaxError(
                    f"only strings can have a @language at {format_path(path)}",
                    code="invalid language-tagged value",
                )
            if not _BCP47.fullmatch(language):
                self._unsafe(f"{language!r} is not a BCP47 language tag", path)
            return f'"{escape_literal(value)}"@{language.lower()}'
        if isinstance(value, str):
            if datatype == _XSD_DOUBLE:
                return f'"{canonical_double(_js_parse_float(value))}"^^<{_XSD_DOUBLE}>'
            if datatype is None or datatype == _RDF_LANGSTRING:
                # rdf:langString without a language serialises like a plain string.
                return f'"{escape_literal(value)}"'
            return f'"{escape_literal(value)}"{_datatype_suffix(datatype)}'
        return self._native_literal(value, datatype, path)


def to_rdf(document: Any, *, safe: bool = True) -> list[Quad]:
    """The RDF dataset of a JSON-LD document, as a list of distinct quads (unordered).

    Contexts are loaded only from the bundled allow-list (`ContextNotAllowed` otherwise). With
    `safe=True` (the default, and the only mode proofs use) anything that would be dropped or
    left relative raises `SafeModeViolation`; with `safe=False` it is dropped, as jsonld.js
    does. Invalid JSON-LD raises `JsonLdSyntaxError`, unimplemented constructs
    `UnsupportedJsonLd`; all are `JsonLdError`s.
    """
    converter = _Converter(safe)
    converter.document(document)
    return list(converter.quads)


def nquad_line(s: str, p: str, o: str, g: str) -> str:
    """One N-Quads line of terms already in N-Quads syntax (`g == ""`: the default graph)."""
    return f"{s} {p} {o} {g} .\n" if g else f"{s} {p} {o} .\n"


def to_nquads(quads: list[Quad]) -> str:
    """Sorted N-Quads text of quads as they are (blank node labels unchanged)."""
    return "".join(sorted(nquad_line(*quad) for quad in quads))

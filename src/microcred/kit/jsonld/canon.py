"""RDF Dataset Canonicalization (W3C RDFC-1.0, formerly URDNA2015) to canonical N-Quads.

Fast path: a credential's blank nodes nearly always differ in their own quads, so their
first-degree hashes are unique and labels follow from sorting those hashes. Only when hashes
collide (identical sibling objects without ids) does the Hash N-Degree Quads algorithm run; it is
implemented in full here, and bounded, because its cost grows factorially with the number of
look-alike blank nodes and a verifier must not let a client spend its CPU without limit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from itertools import permutations
from typing import Any

from microcred.kit.jsonld.errors import JsonLdError
from microcred.kit.jsonld.rdf import Quad, nquad_line, to_rdf

__all__ = ["CanonicalizationError", "canonical_nquads", "canonicalize"]

# Units are Hash N-Degree calls plus permutations tried. Credentials with identical sibling
# objects need a few dozen (the generated test family peaks at 14); a crafted clique of seven
# blank nodes would need millions. 20,000 caps the work near 50 ms on one core.
_WORK_LIMIT = 20_000


class CanonicalizationError(JsonLdError):
    """Canonicalization would take unreasonable work (too many indistinguishable blank nodes)."""

    code = "canonicalization limit"


def canonical_nquads(document: Any, *, safe: bool = True) -> str:
    """Canonical N-Quads (RDFC-1.0) of a JSON-LD document; see `rdf.to_rdf` for the errors."""
    return canonicalize(to_rdf(document, safe=safe))


def canonicalize(quads: Iterable[Quad]) -> str:
    """Canonical N-Quads of distinct quads: `_:c14n…` labels, sorted lines ending in `\\n`."""
    quads = list(quads)
    by_blank_node = _quads_by_blank_node(quads)
    if not by_blank_node:
        return "".join(sorted(nquad_line(*quad) for quad in quads))
    first_degree = {node: _hash_first_degree(node, mine) for node, mine in by_blank_node.items()}
    by_hash: dict[str, list[str]] = {}
    for node, digest in first_degree.items():
        by_hash.setdefault(digest, []).append(node)
    canonical = _Issuer("_:c14n")
    shared: list[list[str]] = []
    for digest in sorted(by_hash):
        nodes = by_hash[digest]
        if len(nodes) == 1:
            canonical.issue(nodes[0])
        else:
            shared.append(nodes)
    if shared:
        _NDegree(by_blank_node, first_degree, canonical).label(shared)
    label = canonical.issued.get
    lines = [
        f"{label(s, s)} {p} {label(o, o)} {label(g, g)} .\n"
        if g
        else f"{label(s, s)} {p} {label(o, o)} .\n"
        for s, p, o, g in quads
    ]
    lines.sort()
    return "".join(lines)


def _quads_by_blank_node(quads: list[Quad]) -> dict[str, list[Quad]]:
    """Blank node -> the quads it occurs in (each quad once per node, as rdf-canonize does)."""
    index: dict[str, list[Quad]] = {}
    for quad in quads:
        s, _, o, g = quad
        if s[0] == "_":
            if s in index:
                index[s].append(quad)
            else:
                index[s] = [quad]
        if o[0] == "_" and o != s:
            if o in index:
                index[o].append(quad)
            else:
                index[o] = [quad]
        if g and g[0] == "_" and g not in (s, o):
            if g in index:
                index[g].append(quad)
            else:
                index[g] = [quad]
    return index


def _hash_first_degree(node: str, quads: list[Quad]) -> str:
    """Hash First Degree Quads: the node's quads with itself as `_:a`, other blank nodes `_:z`."""
    lines = []
    for s, p, o, g in quads:
        subject = ("_:a" if s == node else "_:z") if s[0] == "_" else s
        obj = ("_:a" if o == node else "_:z") if o[0] == "_" else o
        if g:
            graph = ("_:a" if g == node else "_:z") if g[0] == "_" else g
            lines.append(f"{subject} {p} {obj} {graph} .\n")
        else:
            lines.append(f"{subject} {p} {obj} .\n")
    lines.sort()
    return hashlib.sha256("".join(lines).encode()).hexdigest()


class _Issuer:
    """Issue Identifier algorithm: labels in issue order, copied cheaply for path exploration."""

    __slots__ = ("_prefix", "issued")

    def __init__(self, prefix: str, issued: dict[str, str] | None = None) -> None:
        self._prefix = prefix
        self.issued: dict[str, str] = {} if issued is None else issued

    def issue(self, node: str) -> str:
        label = self.issued.get(node)
        if label is None:
            label = self.issued[node] = f"{self._prefix}{len(self.issued)}"
        return label

    def copy(self) -> _Issuer:
        return _Issuer(self._prefix, dict(self.issued))


class _NDegree:
    """Hash N-Degree Quads (RDFC-1.0 section 4.8) and the labelling loop that uses it."""

    def __init__(
        self,
        by_blank_node: dict[str, list[Quad]],
        first_degree: dict[str, str],
        canonical: _Issuer,
    ) -> None:
        self.by_blank_node = by_blank_node
        self.first_degree = first_degree
        self.canonical = canonical
        self.work = 0

    def label(self, shared: list[list[str]]) -> None:
        """Step 5 of the canonicalization algorithm, for each group of colliding hashes."""
        for nodes in shared:
            results: list[tuple[str, _Issuer]] = []
            for node in nodes:
                if node in self.canonical.issued:
                    continue
                temporary = _Issuer("_:b")
                temporary.issue(node)
                results.append(self.hash(node, temporary))
            results.sort(key=lambda result: result[0])
            for _, issuer in results:
                for existing in issuer.issued:
                    self.canonical.issue(existing)

    def _spend(self, units: int = 1) -> None:
        self.work += units
        if self.work > _WORK_LIMIT:
            raise CanonicalizationError(
                "too many indistinguishable blank nodes to canonicalize within limits"
            )

    def _related_hash(self, related: str, predicate: str, issuer: _Issuer, position: str) -> str:
        identifier = (
            self.canonical.issued.get(related)
            or issuer.issued.get(related)
            or self.first_degree[related]
        )
        text = position + (predicate if position != "g" else "") + identifier
        return hashlib.sha256(text.encode()).hexdigest()

    def _hash_to_related(self, node: str, issuer: _Issuer) -> dict[str, list[str]]:
        related: dict[str, list[str]] = {}
        for s, p, o, g in self.by_blank_node[node]:
            for component, position in ((s, "s"), (o, "o"), (g, "g")):
                if component and component[0] == "_" and component != node:
                    digest = self._related_hash(component, p, issuer, position)
                    related.setdefault(digest, []).append(component)
        return related

    def hash(self, node: str, issuer: _Issuer) -> tuple[str, _Issuer]:
        self._spend()
        data = hashlib.sha256()
        for digest, related in sorted(self._hash_to_related(node, issuer).items()):
            data.update(digest.encode())
            chosen_path = ""
            chosen_issuer: _Issuer | None = None
            for permutation in permutations(related):
                self._spend()
                path, issuer_copy = self._path(permutation, issuer, chosen_path)
                if path is not None and (not chosen_path or path < chosen_path):
                    chosen_path, chosen_issuer = path, issuer_copy
            data.update(chosen_path.encode())
            if chosen_issuer is not None:
                issuer = chosen_issuer
        return data.hexdigest(), issuer

    def _path(
        self, permutation: tuple[str, ...], issuer: _Issuer, chosen_path: str
    ) -> tuple[str | None, _Issuer]:
        """Steps 5.4.1 to 5.4.5 for one permutation; path None when it cannot win."""
        issuer_copy = issuer.copy()
        path = ""
        recursion: list[str] = []
        for related in permutation:
            label = self.canonical.issued.get(related)
            if label is None:
                if related not in issuer_copy.issued:
                    recursion.append(related)
                label = issuer_copy.issue(related)
            path += label
            if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                return None, issuer_copy
        for related in recursion:
            result_hash, issuer_copy = self.hash(related, issuer_copy)
            path += issuer_copy.issue(related) + "<" + result_hash + ">"
            if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                return None, issuer_copy
        return path, issuer_copy

"""The "ask" context: a knowledge base of institution-controlled sources, chunked with their
headings and searched by hybrid retrieval (BM25 + embeddings, re-ranked)."""

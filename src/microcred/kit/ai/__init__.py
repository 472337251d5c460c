"""AI building blocks shared by the contexts: the embedder seam (`kit.ai.embedder`)."""

"""The teacher: prompt catalogue, LLM backends, the CoT runner and the knowledge store."""

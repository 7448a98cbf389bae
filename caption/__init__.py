"""The caption stage: images -> one caption per image, with provenance."""

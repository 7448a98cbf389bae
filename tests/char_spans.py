"""Word-span entities as character spans, to compare `cotpd predict` with the
token-classification pipeline, which reports character offsets."""


def char_entities(tokens: list[str], entities: list[dict]) -> set[tuple[str, int, int]]:
    """(type, start, end) character spans of the entities in the space-joined sentence."""
    starts, position = [], 0
    for token in tokens:
        starts.append(position)
        position += len(token) + 1
    return {(e["type"], starts[e["start"]], starts[e["end"] - 1] + len(tokens[e["end"] - 1]))
            for e in entities}

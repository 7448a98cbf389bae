"""Greedy batched decoding that drops each row from the batch as soon as it is finished.

`model.generate` keeps a finished row in the batch (feeding it padding) until the last row
stops, so a batch costs as much as its longest answer times its size. Short answers are the
rule for CoT prompts with stop strings, so here a row leaves the batch, and its slice of the
KV cache with it, at its stop string, its end-of-sequence token or its own token limit.
The tokens chosen are the same as `generate(do_sample=False)` (a test checks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import DynamicCache, PreTrainedModel, PreTrainedTokenizerBase


@dataclass
class DecodedRow:
    token_ids: list[int]  # the new tokens, up to and including the one that finished the row
    stopped: bool  # finished by a stop string or end-of-sequence, not by its token limit


def _first_stop(text: str, stops: Sequence[str]) -> bool:
    return any(stop in text for stop in stops)


def greedy_generate(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                    encoded: dict[str, torch.Tensor], max_new_tokens: Sequence[int],
                    stops: Sequence[Sequence[str]], eos_ids: set[int]) -> list[DecodedRow]:
    """Decode a left-padded batch greedily; row i stops at any of `stops[i]` in its decoded
    continuation, at a token of `eos_ids`, or after `max_new_tokens[i]` tokens."""
    input_ids, mask = encoded["input_ids"], encoded["attention_mask"]
    batch = input_ids.shape[0]
    rows = [DecodedRow([], False) for _ in range(batch)]
    active = torch.arange(batch, device=input_ids.device)  # original row of each batch slot
    cache = DynamicCache(config=model.config)
    positions = (mask.long().cumsum(-1) - 1).clamp(min=0)
    with torch.inference_mode():
        logits = model(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                       cache=cache, use_cache=True, logits_to_keep=1).logits
        while True:
            chosen = logits[:, -1, :].argmax(-1)
            keep = []
            for slot, token in enumerate(chosen.tolist()):
                row_index = int(active[slot])
                row = rows[row_index]
                row.token_ids.append(token)
                if token in eos_ids or (stops[row_index] and _first_stop(
                        tokenizer.decode(row.token_ids, skip_special_tokens=True),
                        stops[row_index])):
                    row.stopped = True
                elif len(row.token_ids) < max_new_tokens[row_index]:
                    keep.append(slot)
            if not keep:
                return rows
            if len(keep) < len(active):  # drop finished rows and their cache
                index = torch.tensor(keep, device=input_ids.device)
                cache.batch_select_indices(index)
                active, mask, chosen = active[index], mask[index], chosen[index]
            mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=-1)
            step_positions = (mask.long().sum(-1, keepdim=True) - 1)
            logits = model(input_ids=chosen[:, None], attention_mask=mask,
                           position_ids=step_positions, cache=cache,
                           use_cache=True).logits

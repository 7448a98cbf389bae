import torch
from cotpd.student.config import PromptConfig
from cotpd.student.prompts import ConditionalPrompt, PrefixPrompt, UnconditionalPrompt

HIDDEN = 16


def inputs(batch: int = 2, length: int = 5, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    embeddings = torch.randn(batch, length, HIDDEN, generator=generator)
    mask = torch.ones(batch, length, dtype=torch.long)
    return embeddings, mask


def test_conditional_prompt_depends_on_the_text_and_ignores_padding() -> None:
    torch.manual_seed(0)
    prompt = ConditionalPrompt(HIDDEN, PromptConfig(num_queries=3, decoder_heads=2,
                                                    dropout=0.0)).eval()
    embeddings, mask = inputs()
    out = prompt(embeddings, mask)
    assert out.shape == (2, 3, HIDDEN)
    other, _ = inputs(seed=1)
    assert not torch.allclose(out, prompt(other, mask))
    padded_mask = mask.clone()
    padded_mask[:, 3:] = 0
    changed = embeddings.clone()
    changed[:, 3:] = 100.0
    assert torch.allclose(prompt(embeddings, padded_mask), prompt(changed, padded_mask),
                          atol=1e-5)


def test_unconditional_prompt_is_the_same_for_every_input() -> None:
    prompt = UnconditionalPrompt(HIDDEN, PromptConfig(num_queries=4))
    a, mask = inputs(seed=0)
    b, _ = inputs(seed=1)
    assert prompt(a, mask).shape == (2, 4, HIDDEN)
    assert torch.equal(prompt(a, mask), prompt(b, mask))


def test_prefix_hooks_write_each_layers_states_only_while_active() -> None:
    layers = torch.nn.ModuleList([torch.nn.Identity(), torch.nn.Identity()])
    prefix = PrefixPrompt(HIDDEN, PromptConfig(num_queries=2), num_layers=2)
    prefix.attach(layers)
    hidden = torch.zeros(1, 6, HIDDEN)
    assert torch.equal(layers[1](hidden), hidden)
    prefix.active = True
    out = layers[1](hidden)
    assert torch.equal(out[0, 1:3], prefix.states[1])
    assert torch.equal(out[0, 0], hidden[0, 0]) and torch.equal(out[0, 3:], hidden[0, 3:])


def test_prefix_states_go_where_the_model_placed_the_prompt() -> None:
    layers = torch.nn.ModuleList([torch.nn.Identity()])
    prefix = PrefixPrompt(HIDDEN, PromptConfig(num_queries=2), num_layers=1)
    prefix.attach(layers)
    hidden = torch.zeros(2, 6, HIDDEN)
    prefix.active = True
    prefix.positions = torch.tensor([[4, 5], [2, 3]])  # after each row's own text
    out = layers[0](hidden)
    assert torch.equal(out[0, 4:6], prefix.states[0]) and torch.equal(out[1, 2:4],
                                                                       prefix.states[0])
    assert out[0, :4].abs().sum() == 0 and out[1, :2].abs().sum() == 0
    assert out[1, 4:].abs().sum() == 0

"""Small built-in text encoder: word-hash tokenizer + a tiny transformer, mean-pooled.

Interface (so a pretrained encoder can replace it later): ``encoder.tokenize(prompts) -> ids [B, L]``
(0 = padding) and ``encoder(ids) -> pooled [B, text_dim]``. An empty prompt gives the learned null
embedding, which is also what condition dropout uses.
"""

from __future__ import annotations

import re
import zlib

import torch
from torch import nn

from .layers import RMSNorm, attention, merge_heads, split_heads

_WORD = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


def hash_tokenize(prompt: str, vocab: int, max_tokens: int) -> list[int]:
    """Lower-case words/punctuation → ids in 1..vocab-1 by CRC32 (stable across runs and machines)."""
    words = _WORD.findall(prompt.lower())[:max_tokens]
    return [1 + zlib.crc32(w.encode("utf-8")) % (vocab - 1) for w in words]


class _TextLayer(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = RMSNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm2 = RMSNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        q, k, v = (split_heads(t, self.heads) for t in (q, k, v))
        x = x + self.out(merge_heads(attention(q, k, v, keep[:, None, None, :])))
        return x + self.mlp(self.norm2(x))


class HashTextEncoder(nn.Module):
    """Prompt ids ``[B, L]`` → pooled text embedding ``[B, dim]`` (masked mean over tokens)."""

    def __init__(self, vocab: int, dim: int, layers: int, max_tokens: int) -> None:
        super().__init__()
        self.vocab, self.dim, self.max_tokens = vocab, dim, max_tokens
        self.embed = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(max_tokens, dim) * 0.02)
        self.layers = nn.ModuleList(_TextLayer(dim, max(dim // 32, 1)) for _ in range(layers))
        self.norm = RMSNorm(dim)
        self.null = nn.Parameter(torch.randn(dim) * 0.02)

    def tokenize(self, prompts: list[str]) -> torch.Tensor:
        """``prompts`` → ids ``[B, max_tokens]`` (long, 0-padded)."""
        ids = torch.zeros(len(prompts), self.max_tokens, dtype=torch.long, device=self.pos.device)
        for i, p in enumerate(prompts):
            tok = hash_tokenize(p, self.vocab, self.max_tokens)
            if tok:
                ids[i, : len(tok)] = torch.tensor(tok, device=ids.device)
        return ids

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        keep = ids > 0
        x = self.embed(ids) + self.pos[: ids.shape[1]]
        # an all-padding row would make attention undefined: let it attend to its first slot
        safe = keep.clone()
        safe[:, 0] = True
        for layer in self.layers:
            x = layer(x, safe)
        x = self.norm(x)
        w = keep.to(x.dtype)[..., None]
        pooled = (x * w).sum(1) / w.sum(1).clamp_min(1)
        empty = ~keep.any(dim=1)
        return torch.where(empty[:, None], self.null.expand_as(pooled), pooled)

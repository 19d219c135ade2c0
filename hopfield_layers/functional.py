"""The one retrieval routine of the library: similarity → separation → readout (+ update steps).

:func:`retrieve` is to the Hopfield modules what ``scaled_dot_product_attention`` is to
``nn.MultiheadAttention``: every module, the transformer layers and the task models call it.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from .masks import MergedMask, merge_masks
from .ops.adasplash import sparse_flash_attention
from .separation import DensitySeparation, Separation, Softmax, get_separation
from .similarity import Dot, Similarity, get_similarity

__all__ = ["retrieve", "resolve_scaling", "UNBOUNDED_STEPS_LIMIT"]

#: Safety bound on the number of update steps when ``update_steps_max`` is ``None`` (until convergence).
UNBOUNDED_STEPS_LIMIT = 1000


def resolve_scaling(scaling: float | Tensor | None, num_heads: int, head_dim: int) -> float | Tensor:
    """Turn ``scaling`` (β) into a float or a ``(1, H, 1, 1)`` tensor; ``None`` means ``1/sqrt(head_dim)``."""
    if scaling is None:
        return 1.0 / math.sqrt(head_dim)
    if isinstance(scaling, Tensor):
        if scaling.dim() == 0:
            return scaling.reshape(1, 1, 1, 1)
        if scaling.dim() != 1 or scaling.shape[0] != num_heads:
            raise ValueError(f"scaling as a tensor must be a scalar or have shape (H,) = ({num_heads},); got {tuple(scaling.shape)}")
        return scaling.reshape(1, num_heads, 1, 1)
    if isinstance(scaling, bool) or not isinstance(scaling, (int, float)):
        raise TypeError(f"scaling must be None, a float or a tensor of shape (H,); got {type(scaling).__name__}")
    return float(scaling)


def _check_inputs(query: Tensor, key: Tensor, value: Tensor) -> None:
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor; got {type(t).__name__}")
        if t.dim() != 4:
            raise ValueError(f"{name} must be 4-D {'(B, H, L, E)' if name == 'query' else '(B, H, S, E)'}; got shape {tuple(t.shape)}")
        if not t.is_floating_point():
            raise TypeError(f"{name} must be a floating tensor; got dtype {t.dtype}")
    if key.shape[:2] != query.shape[:2] or value.shape[:2] != query.shape[:2]:
        raise ValueError(f"query, key and value must agree in (B, H); got query {tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}")
    if key.shape[2] != value.shape[2]:
        raise ValueError(f"key (B, H, S, E) and value (B, H, S, Ev) must have the same S; got key {tuple(key.shape)}, value {tuple(value.shape)}")
    if key.shape[3] != query.shape[3]:
        raise ValueError(f"query (B, H, L, E) and key (B, H, S, E) must have the same E; got query {tuple(query.shape)}, key {tuple(key.shape)}")


def _per_head(value: float | int | Tensor | None, num_heads: int, name: str) -> Tensor | None:
    if not isinstance(value, Tensor):
        return None
    if value.dim() != 1 or value.shape[0] != num_heads:
        raise ValueError(f"{name} as a tensor must have shape (H,) = ({num_heads},); got {tuple(value.shape)}")
    return value


def _check_steps(update_steps_max: int | Tensor | None, update_steps_eps: float | Tensor, num_heads: int) -> None:
    if update_steps_max is not None and not isinstance(update_steps_max, Tensor):
        if isinstance(update_steps_max, bool) or not isinstance(update_steps_max, int) or update_steps_max < 0:
            raise ValueError(f"update_steps_max must be a non-negative int, None (until convergence) or a tensor (H,); got {update_steps_max!r}")
    _per_head(update_steps_max, num_heads, "update_steps_max")
    eps = _per_head(update_steps_eps, num_heads, "update_steps_eps")
    if eps is None and (isinstance(update_steps_eps, bool) or not isinstance(update_steps_eps, (int, float)) or update_steps_eps <= 0):
        raise ValueError(f"update_steps_eps must be a positive float or a tensor (H,); got {update_steps_eps!r}")
    if eps is not None and bool((eps <= 0).any()):
        raise ValueError(f"update_steps_eps must be positive for every head; got {eps.tolist()}")


def _sdpa(query: Tensor, key: Tensor, value: Tensor, scale: float | Tensor, mask: MergedMask, dropout_p: float) -> Tensor:
    """Fused path: ``torch.nn.functional.scaled_dot_product_attention`` (flash / memory-efficient kernels)."""
    if isinstance(scale, Tensor):
        query, scale = query * scale.to(query.dtype), 1.0
    attn_mask = None
    if mask.blocked is not None:
        attn_mask = ~mask.blocked  # SDPA: True = take part in attention
    elif mask.bias is not None:
        attn_mask = mask.bias.to(query.dtype)
    out = F.scaled_dot_product_attention(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p, scale=scale)
    return mask.zero_empty_rows(out)


def retrieve(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    *,
    similarity: str | Similarity | dict[str, Any] = "dot",
    separation: str | Separation | dict[str, Any] = "softmax",
    scaling: float | Tensor | None = None,
    update_steps_max: int | Tensor | None = 0,
    update_steps_eps: float | Tensor = 1e-4,
    key_padding_mask: Tensor | None = None,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    training: bool = False,
    return_association: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Retrieve from an associative memory: ``separation(β · similarity(ξ, X)) @ V``.

    Args:
        query: state patterns ξ, ``(B, H, L, E)``.
        key: stored patterns X, ``(B, H, S, E)``.
        value: pattern projections V, ``(B, H, S, Ev)``.
        similarity: name, ``{"name": ..., **kwargs}`` or :class:`~hopfield_layers.similarity.Similarity`.
        separation: name, ``{"name": ..., **kwargs}`` or :class:`~hopfield_layers.separation.Separation`.
        scaling: inverse temperature β: a float, a tensor ``(H,)`` (one β per head), or ``None`` for
            ``1/sqrt(E)``.
        update_steps_max: extra Hopfield update steps ``ξ ← weights @ X`` after the first retrieval
            (0 = one-step retrieval, ``None`` = until converged, or a tensor ``(H,)`` per head where a
            negative entry means until converged).
        update_steps_eps: a head of a batch element stops updating once the Frobenius norm of the
            change of its weights ``(L, S)`` is ≤ this (a float or a tensor ``(H,)``).
        key_padding_mask: ``(B, S)``; bool/uint8 ``True`` ignores a stored pattern, float is added.
        attn_mask: broadcastable to ``(B, H, L, S)``; bool/uint8 ``True`` blocks, float is added.
        dropout_p: dropout probability on the weights (only when ``training``).
        training: apply dropout.
        return_association: also return the weights ``(B, H, L, S)`` (before dropout).

    Returns:
        ``(B, H, L, Ev)``, or ``((B, H, L, Ev), (B, H, L, S))`` with ``return_association``. Rows
        whose stored patterns are all masked give zero weights and a zero output.

    With dot similarity, softmax, no update steps and no weights requested this calls
    ``torch.nn.functional.scaled_dot_product_attention``, so long sequences never materialise the
    ``(L, S)`` matrix. On CUDA with the optional ``adasplash`` package, sparsemax/entmax retrievals of
    that kind (unmasked self-attention shapes) go to AdaSplash (:mod:`hopfield_layers.ops.adasplash`).
    A :class:`~hopfield_layers.separation.DensitySeparation` (e.g. ``"gibbs"``) is handed the whole
    retrieval once the arguments are validated; its association has its own shape.
    """
    _check_inputs(query, key, value)
    batch, heads, tgt_len, dim = query.shape
    src_len = key.shape[2]
    sim = get_similarity(similarity, num_heads=heads, head_dim=dim)
    sep = get_separation(separation, num_heads=heads)
    scale = resolve_scaling(scaling, heads, dim)
    _check_steps(update_steps_max, update_steps_eps, heads)
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"dropout_p must be in [0, 1); got {dropout_p}")
    mask = merge_masks(key_padding_mask, attn_mask, (batch, heads, tgt_len, src_len), query.dtype)
    dropout_p = dropout_p if training else 0.0
    if isinstance(sep, DensitySeparation):  # a density over a continuous memory, not a function of the scores
        steps = {"update_steps_max": update_steps_max, "update_steps_eps": update_steps_eps}
        masks = {"key_padding_mask": key_padding_mask, "attn_mask": attn_mask}
        return sep.retrieve(query, key, value, similarity=sim, scaling=scaling, dropout_p=dropout_p, return_association=return_association, **steps, **masks)

    no_updates = not isinstance(update_steps_max, Tensor) and update_steps_max == 0
    if type(sim) is Dot and type(sep) is Softmax and no_updates and not return_association:
        return _sdpa(query, key, value, scale, mask, dropout_p)
    if no_updates and not return_association and (flash := sparse_flash_attention(query, key, value, sim, sep, scale, mask, dropout_p)) is not None:
        return flash  # CUDA + adasplash installed: sparse flash attention (see hopfield_layers/ops/adasplash.py)

    if isinstance(scale, Tensor):
        scale = scale.to(query.dtype)

    def separate(state: Tensor) -> Tensor:
        if type(sim) is Dot:  # bilinear: scale the (L, E) state rather than the (L, S) scores
            return sep.forward_nonempty(mask.apply(sim(state * scale, key)), dim=-1)
        return sep.forward_nonempty(mask.apply(sim(state, key) * scale), dim=-1)

    weights = separate(query)
    if not no_updates:
        weights = _update(weights, key, separate, update_steps_max, update_steps_eps)
    weights = mask.zero_empty_rows(weights)
    output = F.dropout(weights, p=dropout_p, training=dropout_p > 0) @ value
    return (output, weights) if return_association else output


def _update(weights: Tensor, key: Tensor, separate, steps_max: int | Tensor | None, steps_eps: float | Tensor) -> Tensor:
    """Iterate ``ξ ← weights @ X; weights ← separate(ξ)`` per (batch element, head) until converged."""
    batch, heads = weights.shape[:2]
    compiling = torch.compiler.is_compiling()
    head_limit = None
    if isinstance(steps_max, Tensor):
        head_limit = steps_max.to(weights.device).long()
        head_limit = torch.where(head_limit < 0, torch.full_like(head_limit, UNBOUNDED_STEPS_LIMIT), head_limit).reshape(1, heads)
        num_steps = UNBOUNDED_STEPS_LIMIT if compiling else int(head_limit.max())
    elif steps_max is None:
        if compiling:
            raise ValueError("update_steps_max=None (until convergence) needs a data-dependent loop; give an int bound under torch.compile")
        num_steps = UNBOUNDED_STEPS_LIMIT
    else:
        num_steps = steps_max
    eps = steps_eps.to(weights.device, weights.dtype).reshape(1, heads) if isinstance(steps_eps, Tensor) else steps_eps
    active = torch.ones(batch, heads, dtype=torch.bool, device=weights.device)
    for step in range(num_steps):
        live = active if head_limit is None else active & (step < head_limit)
        all_live = False
        if not compiling:
            num_live = int(live.sum())  # one host sync per step
            if num_live == 0:
                break
            all_live = num_live == live.numel()
        proposal = separate(weights @ key)
        new = proposal if all_live else torch.where(live[..., None, None], proposal, weights)
        with torch.no_grad():
            change = torch.linalg.vector_norm((new - weights).float(), dim=(-2, -1))
        active = live & (change > eps)
        weights = new
    else:
        if steps_max is None and bool(active.any()):
            warnings.warn(f"Hopfield update did not converge within {UNBOUNDED_STEPS_LIMIT} steps", RuntimeWarning, stacklevel=3)
    return weights

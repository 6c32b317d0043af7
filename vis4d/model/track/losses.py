"""QDTrack's embedding losses, as pure functions that can be checked by hand.

Quasi-dense similarity learning compares every sampled key-frame RoI with every
sampled reference-frame RoI. Two losses act on that key x reference matrix:

* :func:`multi_positive_cross_entropy` on embedding dot products: each key
  RoI must be more similar to all RoIs of its own instance than to any other
  RoI (a contrastive loss with several positives per row);
* :func:`embedding_l2_loss` on cosine similarities: pulls positives to 1 and
  pushes the hardest negatives below a margin, which keeps the embedding
  space well conditioned for the cosine/bi-softmax matching at test time.

:func:`qdtrack_losses` builds the targets from track ids and applies both with
their configured weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from vis4d.config.schema import TrackLossConfig


def multi_positive_cross_entropy(similarity: Tensor, targets: Tensor) -> Tensor:
    """QDTrack's contrastive loss on a (K, R) similarity matrix.

    For each row (key embedding) with at least one positive,
    ``log(1 + sum_{p in pos} sum_{n in neg} exp(s_n - s_p))``. The double sum
    factorises into ``(sum_n exp(s_n)) * (sum_p exp(-s_p))``, so the row loss
    is ``softplus(logsumexp_neg(s) + logsumexp_pos(-s))``: no (K, R, R) tensor
    and no overflow for large similarities. Rows without a positive carry no
    signal and are skipped; the result is the mean over the remaining rows
    (zero, still attached to the graph, when there are none).
    """
    if similarity.shape != targets.shape or similarity.dim() != 2:
        raise ValueError(f"similarity {tuple(similarity.shape)} and targets {tuple(targets.shape)} must be equal 2D")
    positive = targets.bool()
    valid_rows = positive.any(dim=1)
    if not bool(valid_rows.any()):
        return similarity.sum() * 0.0
    sim = similarity[valid_rows]
    pos = positive[valid_rows]
    minus_inf = torch.finfo(sim.dtype).min
    neg_term = torch.logsumexp(sim.masked_fill(pos, minus_inf), dim=1)
    pos_term = torch.logsumexp((-sim).masked_fill(~pos, minus_inf), dim=1)
    # A row whose columns are all positive has no negative: its loss is log(1) = 0.
    has_negative = (~pos).any(dim=1)
    row_loss = F.softplus(neg_term + pos_term) * has_negative.to(sim.dtype)
    return row_loss.mean()


def embedding_l2_loss(
    cosine: Tensor, targets: Tensor, neg_pos_ratio: float = 3.0, pos_margin: float = 0.0, neg_margin: float = 0.3
) -> Tensor:
    """Auxiliary L2 loss on cosine similarities with hard-negative mining.

    Positives (target 1) cost ``(1 - clamp(cos - pos_margin, 0, 1))**2``;
    negatives (target 0) cost ``clamp(cos - neg_margin, 0, 1)**2``, so a
    negative already below the margin costs nothing. When there are more than
    ``neg_pos_ratio`` negatives per positive, only the ``neg_pos_ratio * #pos``
    most expensive negatives are kept (hard mining; without any positive no
    negative is kept). The loss is the mean over the kept entries. A
    non-positive ``neg_pos_ratio`` keeps every negative.
    """
    if cosine.shape != targets.shape:
        raise ValueError(f"cosine {tuple(cosine.shape)} and targets {tuple(targets.shape)} must have one shape")
    positive = targets.bool().flatten()
    cos = cosine.flatten()
    pos_cost = (1.0 - (cos[positive] - pos_margin).clamp(0.0, 1.0)) ** 2
    neg_cost = (cos[~positive] - neg_margin).clamp(0.0, 1.0) ** 2
    num_pos = pos_cost.numel()
    if neg_pos_ratio > 0 and neg_cost.numel() > neg_pos_ratio * num_pos:
        num_neg = int(neg_pos_ratio * num_pos)
        neg_cost = neg_cost.topk(num_neg).values if num_neg > 0 else neg_cost[:0]
    num_selected = num_pos + neg_cost.numel()
    if num_selected == 0:
        return cosine.sum() * 0.0
    return (pos_cost.sum() + neg_cost.sum()) / num_selected


def embedding_similarity(key: Tensor, ref: Tensor, temperature: float = -1.0) -> Tensor:
    """Dot products ``key @ ref.T``, divided by ``temperature`` when it is positive."""
    similarity = key @ ref.t()
    if temperature > 0:
        similarity = similarity / temperature
    return similarity


def track_targets(key_track_ids: Tensor, ref_track_ids: Tensor) -> Tensor:
    """(K, R) 0/1 matrix: 1 where a key RoI and a reference RoI belong to one (known) instance."""
    same = key_track_ids.view(-1, 1) == ref_track_ids.view(1, -1)
    return (same & (key_track_ids.view(-1, 1) >= 0)).to(torch.float32)


def qdtrack_losses(
    key_embeds: Tensor | Sequence[Tensor],
    ref_embeds: Tensor | Sequence[Tensor],
    key_track_ids: Tensor | Sequence[Tensor],
    ref_track_ids: Tensor | Sequence[Tensor],
    cfg: TrackLossConfig,
) -> dict[str, Tensor]:
    """Weighted QDTrack losses, averaged over key/reference image pairs.

    Each argument is one tensor (a single pair) or a sequence with one entry
    per pair (key image i with reference image i). Embeddings are (K_i, D) and
    (R_i, D); track ids are (K_i,) and (R_i,) with -1 for background RoIs.
    Returns ``{"track_loss": w_ce * CE, "track_aux_loss": w_aux * L2}``.
    """
    pairs = _as_pairs(key_embeds, ref_embeds, key_track_ids, ref_track_ids)
    if not pairs:
        raise ValueError("qdtrack_losses needs at least one key/reference pair")
    ce_total: Tensor | None = None
    aux_total: Tensor | None = None
    for key_low, ref_low, key_ids, ref_ids in pairs:
        # Under mixed precision the similarity logits would be bf16/fp16 dot products (about three
        # significant digits) fed to a softmax; the losses are computed in float32 instead.
        with torch.autocast(key_low.device.type, enabled=False):
            ce, aux = _pair_losses(key_low.float(), ref_low.float(), key_ids, ref_ids, cfg)
        ce_total = ce if ce_total is None else ce_total + ce
        aux_total = aux if aux_total is None else aux_total + aux
    assert ce_total is not None and aux_total is not None
    num_pairs = len(pairs)
    return {
        "track_loss": cfg.track_loss_weight * ce_total / num_pairs,
        "track_aux_loss": cfg.aux_loss_weight * aux_total / num_pairs,
    }


def _pair_losses(
    key: Tensor, ref: Tensor, key_ids: Tensor, ref_ids: Tensor, cfg: TrackLossConfig
) -> tuple[Tensor, Tensor]:
    """Unweighted contrastive and auxiliary losses of one key/reference pair."""
    targets = track_targets(key_ids, ref_ids).to(key.dtype)
    ce = multi_positive_cross_entropy(embedding_similarity(key, ref, cfg.softmax_temperature), targets)
    cosine = F.normalize(key, p=2, dim=1) @ F.normalize(ref, p=2, dim=1).t()
    aux = embedding_l2_loss(
        cosine,
        targets,
        neg_pos_ratio=cfg.aux_neg_pos_ratio,
        pos_margin=cfg.aux_pos_margin,
        neg_margin=cfg.aux_neg_margin,
    )
    return ce, aux


def _as_pairs(
    key_embeds: Tensor | Sequence[Tensor],
    ref_embeds: Tensor | Sequence[Tensor],
    key_track_ids: Tensor | Sequence[Tensor],
    ref_track_ids: Tensor | Sequence[Tensor],
) -> list[tuple[Tensor, Tensor, Tensor, Tensor]]:
    """Normalise the single-pair and per-pair call forms to a list of pairs."""
    args = [key_embeds, ref_embeds, key_track_ids, ref_track_ids]
    if all(isinstance(a, Tensor) for a in args):
        return [(key_embeds, ref_embeds, key_track_ids, ref_track_ids)]  # type: ignore[list-item]
    if any(isinstance(a, Tensor) for a in args):
        raise TypeError("qdtrack_losses: pass either four tensors or four sequences of tensors")
    lengths = {len(a) for a in args}
    if len(lengths) != 1:
        raise ValueError(f"qdtrack_losses: per-pair sequences differ in length: {[len(a) for a in args]}")
    return list(zip(key_embeds, ref_embeds, key_track_ids, ref_track_ids, strict=True))

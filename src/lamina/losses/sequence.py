"""Losses over structured outputs: CTC for unaligned sequences, Circle for embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina.engine import errors, hyperparameters
from lamina.losses.loss import Loss, match_rank, takes_arrays, wrapper_class


@takes_arrays
def ctc(y_true, y_pred):
    """Connectionist temporal classification loss, one value per sample.

    Args:
        y_true: integer labels `(batch, max_label_length)`; 0 is the blank and pads the labels.
        y_pred: logits `(batch, time, classes)`, class 0 the blank.

    Examples:
        >>> labels = torch.tensor([[1, 2]])
        >>> ctc(labels, torch.zeros(1, 4, 3)).shape
        torch.Size([1])
    """
    if y_true.dim() != 2:
        raise errors.value_error(
            "ctc",
            "integer labels y_true shaped (batch_size, max_length)",
            f"shape {tuple(y_true.shape)}",
        )
    if y_pred.dim() != 3:
        raise errors.value_error(
            "ctc",
            "logits y_pred shaped (batch_size, max_length, num_classes)",
            f"shape {tuple(y_pred.shape)}",
        )
    batch, steps = y_pred.shape[0], y_pred.shape[1]
    log_probs = torch.log_softmax(y_pred.float().transpose(0, 1), dim=-1)
    labels = y_true.long()
    label_lengths = (labels != 0).sum(dim=-1)
    input_lengths = torch.full((batch,), steps, dtype=torch.long, device=y_pred.device)
    values = F.ctc_loss(log_probs, labels, input_lengths, label_lengths, blank=0, reduction="none")
    # Computed in float32 (torch's kernel takes no half precision), returned in y_pred's dtype:
    # CTC(dtype="bfloat16") gives a bfloat16 loss, as Keras's.
    return values.to(y_pred.dtype) if y_pred.is_floating_point() else values


def _pair_masks(query_labels, key_labels, remove_diagonal):
    positive = query_labels.reshape(-1, 1) == key_labels.reshape(1, -1)
    negative = ~positive
    if remove_diagonal:
        diagonal = torch.eye(
            positive.shape[0], positive.shape[1], dtype=torch.bool, device=positive.device
        )
        positive = positive & ~diagonal
    return positive, negative


@takes_arrays
def circle(
    y_true,
    y_pred,
    ref_labels=None,
    ref_embeddings=None,
    remove_diagonal=True,
    gamma=80,
    margin=0.4,
):
    """Circle loss (Sun et al. 2020) on L2-normalised embeddings, one value per sample.

    Args:
        y_true: integer labels `(batch,)`.
        y_pred: embeddings `(batch, dim)`, expected L2-normalised.
        ref_labels: labels of the set compared against (the batch's own by default).
        ref_embeddings: embeddings of that set (the batch's own by default).
        remove_diagonal: skip each sample's pair with itself.
        gamma: the scale factor.
        margin: the relaxation margin.

    Examples:
        >>> emb = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]))
        >>> circle(torch.tensor([0, 0, 1]), emb).shape
        torch.Size([3])
    """
    labels = y_true.long()
    ref_embeddings = y_pred if ref_embeddings is None else torch.as_tensor(ref_embeddings)
    ref_labels = labels if ref_labels is None else torch.as_tensor(ref_labels).long()
    distances = (1.0 - y_pred @ ref_embeddings.T).clamp_min(0.0)
    positive, negative = _pair_masks(labels, ref_labels, remove_diagonal)
    positive_weights = ((margin + distances) * positive).clamp_min(0.0)
    negative_weights = ((1.0 + margin - distances) * negative).clamp_min(0.0)
    positive_terms = -gamma * positive_weights * (margin - distances)
    negative_terms = gamma * negative_weights * (1.0 - margin - distances)
    minus_inf = torch.full_like(distances, float("-inf"))
    positive_loss = torch.logsumexp(torch.where(positive, positive_terms, minus_inf), dim=1)
    negative_loss = torch.logsumexp(torch.where(negative, negative_terms, minus_inf), dim=1)
    return F.softplus(positive_loss + negative_loss)


CTC = wrapper_class(
    ctc,
    "CTC",
    "ctc",
    doc="""Connectionist temporal classification loss for unaligned sequences (class 0 the blank).

    Labels are `(batch, max_label_length)` integers padded with 0; predictions are logits
    `(batch, time, classes)`; every sample uses all its time steps.

    Args:
        reduction: `"sum_over_batch_size"` (default), `"sum"`, `"mean"`,
            `"mean_with_sample_weight"` or `"none"`.
        name: the loss's name (default `"ctc"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> loss = CTC(reduction="none")
        >>> loss(np.array([[1, 2]]), np.zeros((1, 4, 3), dtype="float32")).shape
        torch.Size([1])
    """,
)


class Circle(Loss):
    """Keras's Circle loss object: samples whose loss is 0 are left out of the mean, as Keras.

    Args:
        gamma: the scale factor.
        margin: the relaxation margin.
        remove_diagonal: skip each sample's pair with itself.
        reduction: as for `Loss`.
        name: the loss's name.

    Examples:
        >>> emb = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]))
        >>> Circle()(torch.tensor([0, 0, 1]), emb).shape
        torch.Size([])
    """

    fn = staticmethod(circle)  # the function it wraps, as Keras

    def __init__(
        self,
        gamma=80.0,
        margin=0.4,
        remove_diagonal=True,
        reduction="sum_over_batch_size",
        name="circle",
        dtype=None,
    ):
        hyperparameters.loss_options("Circle()", {"gamma": gamma, "margin": margin})
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.gamma = gamma
        self.margin = margin
        self.remove_diagonal = remove_diagonal

    def call(self, y_true, y_pred):
        y_true, y_pred = match_rank(y_true, y_pred)
        options = {"gamma": self.gamma, "margin": self.margin}
        return self.fn(y_true, y_pred, remove_diagonal=self.remove_diagonal, **options)

    def mask_of(self, values):
        return values > 0

    def get_config(self):
        return {
            **super().get_config(),
            "gamma": self.gamma,
            "margin": self.margin,
            "remove_diagonal": self.remove_diagonal,
        }

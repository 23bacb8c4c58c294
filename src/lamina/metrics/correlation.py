"""Agreement between predictions and targets: Pearson and concordance correlation (means of
per-sample scores) and the coefficient of determination R2Score (accumulated over all samples)."""

from __future__ import annotations

import warnings

import torch

from lamina.losses import EPSILON, as_float, match_rank
from lamina.losses.loss import takes_arrays
from lamina.metrics.accuracy import wrapper_class
from lamina.metrics.metric import Metric


@takes_arrays
def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson's correlation coefficient of `y_true` and `y_pred` along `axis`.

    Args:
        y_true: targets.
        y_pred: predictions, shaped like `y_true`.
        axis: the axis the coefficient is taken along (default the last).

    Examples:
        >>> y_true = torch.tensor([[1.0, 2.0, 3.0]])
        >>> round(pearson_correlation(y_true, torch.tensor([[2.0, 4.0, 6.5]])).item(), 4)
        0.9979
    """
    y_true, y_pred = match_rank(y_true, y_pred)
    y_true = as_float(y_true, y_pred)
    true_centred = y_true - y_true.mean(dim=axis, keepdim=True)
    pred_centred = y_pred - y_pred.mean(dim=axis, keepdim=True)
    true_scaled = true_centred / true_centred.std(dim=axis, keepdim=True, correction=0)
    pred_scaled = pred_centred / pred_centred.std(dim=axis, keepdim=True, correction=0)
    return (true_scaled * pred_scaled).mean(dim=axis)


@takes_arrays
def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation along `axis` (1 only when `y_pred` equals `y_true`).

    Like Keras's, the covariance term centres both `y_true` and `y_pred` on `y_pred`'s mean.

    Args:
        y_true: targets.
        y_pred: predictions, shaped like `y_true`.
        axis: the axis the coefficient is taken along (default the last).

    Examples:
        >>> y = torch.tensor([[1.0, 2.0, 3.0]])
        >>> round(concordance_correlation(y, y).item(), 4)
        1.0
    """
    y_true, y_pred = match_rank(y_true, y_pred)
    y_true = as_float(y_true, y_pred)
    true_mean = y_true.mean(dim=axis, keepdim=True)
    pred_mean = y_pred.mean(dim=axis, keepdim=True)
    true_var = (y_true - true_mean).var(dim=axis, keepdim=True, correction=0)
    pred_var = (y_pred - pred_mean).var(dim=axis, keepdim=True, correction=0)
    covariance = (y_true - pred_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + (true_mean - pred_mean).square()
    return (2.0 * covariance / (norm + EPSILON)).mean(dim=axis)


PearsonCorrelation = wrapper_class(
    pearson_correlation,
    "PearsonCorrelation",
    "pearson_correlation",
    axis=-1,
    doc="""The running mean of the per-sample Pearson correlation along `axis`.

    Args:
        name: the metric's name (default `"pearson_correlation"`).
        dtype: accepted for Keras compatibility.
        axis: the axis each sample's coefficient is taken along (default the last).

    Examples:
        >>> round(float(PearsonCorrelation()([[1.0, 2.0, 3.0]], [[2.0, 4.0, 6.0]])), 4)
        1.0
    """,
)
ConcordanceCorrelation = wrapper_class(
    concordance_correlation,
    "ConcordanceCorrelation",
    "concordance_correlation",
    axis=-1,
    doc="""The running mean of the per-sample concordance correlation along `axis`.

    Args:
        name: the metric's name (default `"concordance_correlation"`).
        dtype: accepted for Keras compatibility.
        axis: the axis each sample's coefficient is taken along (default the last).

    Examples:
        >>> round(float(ConcordanceCorrelation()([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]])), 4)
        1.0
    """,
)

AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """The coefficient of determination over everything seen, per output column then aggregated.

    Args:
        class_aggregation: `"uniform_average"` (mean over outputs), `"variance_weighted_average"`
            (weighted by each output's variance) or `None` (one score per output).
        num_regressors: for the adjusted R2; 0 gives the plain score.
        name: the metric's name.

    Examples:
        >>> m = R2Score()
        >>> m.update_state(torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([[1.0], [2.0], [4.0]]))
        >>> m.result().item()
        0.5
    """

    def __init__(
        self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None
    ):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in AGGREGATIONS:
            raise ValueError(
                f"R2Score expects class_aggregation in {AGGREGATIONS}; "
                f"received class_aggregation={class_aggregation!r}."
            )
        if num_regressors < 0:
            raise ValueError(
                f"R2Score expects num_regressors >= 0; received num_regressors={num_regressors}."
            )
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.add_state("num_samples")
        self._outputs = None

    def _build(self, outputs, device):
        # One running sum per output column, created at the first update (its width unknown before).
        # Keras's order and names (its `total_mse` is listed as "residual")
        for state in ("squared_sum", "sum", "total_mse", "count"):
            variable_name = "residual" if state == "total_mse" else None
            self.add_state(state, (outputs,), variable_name=variable_name)
        self._outputs = outputs
        self._device = None
        self._to(device)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = torch.as_tensor(y_pred).detach().float()
        y_true = torch.as_tensor(y_true, device=y_pred.device).detach().float()
        y_true, y_pred = match_rank(y_true, y_pred)
        if y_pred.dim() == 1:
            y_true, y_pred = y_true.unsqueeze(-1), y_pred.unsqueeze(-1)
        if self._outputs is None:
            self._build(y_pred.shape[-1], y_pred.device)
        self._to(y_pred.device)
        if sample_weight is None:
            weight = torch.ones_like(y_true)
        else:
            weight = torch.as_tensor(sample_weight, device=y_pred.device).float()
            if weight.dim() == 1:
                weight = weight.unsqueeze(-1)
            weight = torch.broadcast_to(weight, y_true.shape)
        self.sum += (y_true * weight).sum(dim=0)
        self.squared_sum += (y_true * y_true * weight).sum(dim=0)
        self.total_mse += ((y_true - y_pred).square() * weight).sum(dim=0)
        self.count += weight.sum(dim=0)
        self.num_samples += y_true.numel()

    def result(self):
        if self._outputs is None:
            return torch.zeros(())
        mean = self.sum / self.count
        total = self.squared_sum - self.sum * mean
        scores = 1.0 - self.total_mse / total
        scores = torch.where(torch.isinf(scores), torch.zeros_like(scores), scores)
        if self.class_aggregation == "uniform_average":
            score = scores.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * scores).sum() / total.sum()
        else:
            score = scores
        if self.num_regressors:
            # result() is read at epoch end, where reading the sample count on the host is fine.
            samples = float(self.num_samples)
            if self.num_regressors >= samples - 1:
                warnings.warn(
                    f"R2Score: num_regressors={self.num_regressors} leaves no degrees of freedom "
                    f"with {samples:.0f} samples; returning the plain R2 score.",
                    stacklevel=2,
                )
            else:
                score = 1.0 - (1.0 - score) * (samples - 1) / (samples - self.num_regressors - 1)
        return score

    def get_config(self):
        return {
            **super().get_config(),
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }

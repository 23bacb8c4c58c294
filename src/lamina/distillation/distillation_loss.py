"""How a student is compared with its teacher: `DistillationLoss` (the base),
`LogitsDistillation` (temperature-scaled outputs) and `FeatureDistillation` (intermediate
layers), as Keras's `keras.distillation` defines them.

Examples:
    >>> teacher = torch.tensor([[1.0, 2.0, 3.0]])
    >>> student = torch.tensor([[1.0, 2.0, 3.0]])
    >>> float(FeatureDistillation(loss="mse").compute_loss(teacher, student))
    0.0
"""

from __future__ import annotations

from lamina import losses, ops, tree


def _loss_function(identifier):
    """A loss name or object as a callable (None stays None: that output is not distilled)."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        found = losses.get(identifier)
        if found is None:
            raise ValueError(f"Unknown loss function: '{identifier}'.")
        return found
    return identifier


def _total(values):
    """The sum of a structure of per-output scalar losses."""
    return ops.sum(ops.stack([ops.convert_to_tensor(v, "float32") for v in tree.flatten(values)]))


class DistillationLoss:
    """The base of distillation losses: override `compute_loss(teacher_outputs,
    student_outputs)` to return a scalar.

    Example:
        >>> class MeanGap(DistillationLoss):
        ...     def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        ...         return ops.mean(ops.abs(teacher_outputs - student_outputs))
        >>> float(MeanGap().compute_loss(torch.ones(2, 3), torch.zeros(2, 3)))
        1.0
    """

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """The scalar loss between the teacher's and the student's outputs.

        Args:
            teacher_outputs: the teacher's outputs (a tensor or a structure of them).
            student_outputs: the student's outputs, in the same structure.
            **kwargs: extra arguments for custom losses.
        """
        raise NotImplementedError("Subclasses must implement compute_loss")

    def validate_outputs(self, teacher_outputs, student_outputs):
        """Raise ValueError unless the two outputs have the same structure.

        Args:
            teacher_outputs: the teacher's outputs.
            student_outputs: the student's outputs.
        """
        tree.assert_same_structure(teacher_outputs, student_outputs)

    def validate_model_compatibility(self, teacher, student):
        """Raise ValueError when this loss cannot compare the two models (the base accepts any).

        Args:
            teacher: the teacher model.
            student: the student model.
        """


class FeatureDistillation(DistillationLoss):
    """Matches the student's features to the teacher's: the outputs of two named layers (or of
    the two models), compared with `loss` and averaged.

    Args:
        loss: a loss name or object, or a structure of them matching the outputs (None skips
            an output; at least one must be given). Default `"mse"`.
        teacher_layer_name: the teacher layer whose output is compared (None: the model's).
        student_layer_name: the student layer whose output is compared (None: the model's).

    Example:
        >>> loss = FeatureDistillation(loss="mae")
        >>> float(loss.compute_loss(torch.ones(2, 3), torch.zeros(2, 3)))
        1.0
    """

    def __init__(self, loss="mse", teacher_layer_name=None, student_layer_name=None):
        self.teacher_layer_name = teacher_layer_name
        self.student_layer_name = student_layer_name
        self.loss = tree.map_structure(_loss_function, loss)
        if all(item is None for item in tree.flatten(self.loss)):
            raise ValueError(
                "The `loss` argument in `FeatureDistillation` must contain at least one "
                "non-`None` value."
            )

    def validate_model_compatibility(self, teacher, student):
        """Check that named layers exist (and can be reached: the models are graphs).

        Args:
            teacher: the teacher model.
            student: the student model.
        """
        if self.teacher_layer_name is None and self.student_layer_name is None:
            return
        subclassed = [
            role
            for role, model in (("teacher", teacher), ("student", student))
            if getattr(model, "inputs", None) is None
        ]
        if subclassed:
            raise ValueError(
                "FeatureDistillation with specific layer names requires Functional or "
                f"Sequential models. The {' and '.join(subclassed)} model(s) appear to be "
                "subclassed (no symbolic inputs/outputs). Either use Functional/Sequential "
                "models, or use FeatureDistillation without layer names (to distill final "
                "outputs only), or use LogitsDistillation instead."
            )
        for role, model, name in (
            ("teacher", teacher, self.teacher_layer_name),
            ("student", student, self.student_layer_name),
        ):
            if name is not None:
                try:
                    model.get_layer(name=name)
                except ValueError as error:
                    raise ValueError(f"In {role} model: {error}") from None

    def validate_outputs(self, teacher_outputs, student_outputs):
        """Raise ValueError unless the outputs and `loss` share one structure.

        Args:
            teacher_outputs: the teacher's features.
            student_outputs: the student's features.
        """
        super().validate_outputs(teacher_outputs, student_outputs)
        try:
            tree.assert_same_structure(self.loss, teacher_outputs)
        except ValueError as error:
            raise ValueError(
                f"Loss structure mismatch. Loss structure: {self.loss!r}, output structure of "
                f"{len(tree.flatten(teacher_outputs))} tensor(s). Error: {error}"
            ) from None

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """The sum over outputs of the mean loss between teacher and student features.

        Args:
            teacher_outputs: the teacher's features.
            student_outputs: the student's features.
            **kwargs: ignored.
        """

        def one(loss, teacher, student):
            return 0.0 if loss is None else ops.mean(loss(teacher, student))

        return _total(tree.map_structure(one, self.loss, teacher_outputs, student_outputs))

    def get_config(self):
        """The constructor's arguments, the losses serialized."""
        from lamina.saving import serialize_keras_object

        return {
            "loss": serialize_keras_object(self.loss),
            "teacher_layer_name": self.teacher_layer_name,
            "student_layer_name": self.student_layer_name,
        }

    @classmethod
    def from_config(cls, config):
        """The loss `get_config` described.

        Args:
            config: the dict `get_config` returned.
        """
        from lamina.saving import deserialize_keras_object

        return cls(**{**config, "loss": deserialize_keras_object(config["loss"])})


class LogitsDistillation(DistillationLoss):
    """Matches the student's outputs to the teacher's after dividing both by `temperature`.

    With a `KLDivergence` loss object both sides go through a softmax first and the loss is
    multiplied by `temperature ** 2`; any other loss (the default name `"kl_divergence"`
    included, as in Keras) compares the scaled outputs directly.

    Args:
        temperature: the positive number both outputs are divided by. Default 3.0.
        loss: a loss name or object, or a structure of them matching the outputs (None skips
            an output; at least one must be given). Default `"kl_divergence"`.

    Example:
        >>> loss = LogitsDistillation(temperature=2.0, loss=lamina.losses.KLDivergence())
        >>> logits = torch.tensor([[1.0, 2.0, 3.0]])
        >>> float(loss.compute_loss(logits, logits))
        0.0
    """

    def __init__(self, temperature=3.0, loss="kl_divergence"):
        self.temperature = temperature
        self.loss = tree.map_structure(_loss_function, loss)
        if all(item is None for item in tree.flatten(self.loss)):
            raise ValueError("At least one loss must be non-`None`.")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise ValueError(f"temperature must be a number, got {type(temperature)}")
        if temperature <= 0.0:
            raise ValueError("temperature must be positive.")

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """The summed loss between the temperature-scaled outputs.

        Args:
            teacher_outputs: the teacher's logits (a tensor or a structure of them).
            student_outputs: the student's logits, in the same structure.
            **kwargs: ignored.
        """
        t = self.temperature

        def one(loss, teacher, student):
            if loss is None:
                return 0.0
            teacher, student = teacher / t, student / t
            if isinstance(loss, losses.KLDivergence):
                soft = loss(ops.softmax(teacher, axis=-1), ops.softmax(student, axis=-1))
                return ops.mean(soft) * t**2
            return ops.mean(loss(teacher, student))

        return _total(tree.map_structure(one, self.loss, teacher_outputs, student_outputs))

    def get_config(self):
        """The constructor's arguments, the losses serialized."""
        from lamina.saving import serialize_keras_object

        return {"temperature": self.temperature, "loss": serialize_keras_object(self.loss)}

    @classmethod
    def from_config(cls, config):
        """The loss `get_config` described.

        Args:
            config: the dict `get_config` returned.
        """
        from lamina.saving import deserialize_keras_object

        return cls(**{**config, "loss": deserialize_keras_object(config["loss"])})

"""`Distiller`: a model training a student from labels and from a frozen teacher's outputs, as
Keras's `keras.distillation.Distiller`.

The loss of a step is `student_loss_weight * student_loss + (1 - student_loss_weight) *
sum(weight_i * distillation_loss_i)`; the three parts are logged as `student_loss`,
`distillation_loss` and `total_loss` next to `loss`.

Examples:
    >>> teacher = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3)])
    >>> student = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3)])
    >>> distiller = Distiller(teacher, student, lamina.distillation.LogitsDistillation(2.0))
    >>> distiller.teacher.trainable
    False
"""

from __future__ import annotations

from lamina import metrics as metrics_module
from lamina import ops, tree
from lamina.distillation.distillation_loss import _loss_function
from lamina.engine.model import Model


def _check_pairs(teacher_tensors, student_tensors, context: str) -> None:
    """Same number of tensors, compatible shapes and equal dtypes (unknown sides pass)."""
    if teacher_tensors is None or student_tensors is None:
        return
    if len(teacher_tensors) != len(student_tensors):
        raise ValueError(
            f"Teacher and student have {len(teacher_tensors)} and {len(student_tensors)} "
            f"{context}s; they must have the same number."
        )
    for ours, theirs in zip(teacher_tensors, student_tensors, strict=True):
        a, b = tuple(ours.shape), tuple(theirs.shape)
        if len(a) != len(b):
            raise ValueError(
                f"Teacher and student {context} shapes have different dimensions. Teacher: {a}, "
                f"Student: {b}."
            )
        if any(x is not None and y is not None and x != y for x, y in zip(a, b, strict=True)):
            raise ValueError(
                f"Teacher and student {context} shapes are incompatible. Teacher: {a}, "
                f"Student: {b}. All dimensions must match."
            )
        if ours.dtype != theirs.dtype:
            raise ValueError(
                f"Teacher and student {context} dtypes must match. Teacher: {ours.dtype}, "
                f"Student: {theirs.dtype}."
            )


class Distiller(Model):
    """Trains `student` from the labels and from a frozen `teacher` (knowledge distillation).

    Compile it with the student's own loss (`compile(optimizer, loss=..., metrics=[...])`),
    `fit` it like any model, then use `distiller.student`. Calling the distiller calls the
    student.

    Args:
        teacher: a trained model; it is frozen (`trainable = False`).
        student: the model to train; inputs and outputs must match the teacher's in shape and
            dtype.
        distillation_losses: a `DistillationLoss` (`LogitsDistillation`, `FeatureDistillation`,
            ...) or a list of them.
        distillation_loss_weights: one weight per distillation loss (default all 1.0).
        student_loss_weight: the share of the student's own loss in the total, in [0, 1].
            Default 0.5.
        name: the model's name. Default `"distiller"`.
        **kwargs: passed to `Model`.

    Example:
        >>> x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
        >>> y = (x[:, 0] > 0).astype("int64")
        >>> teacher = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(2)])
        >>> student = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(2)])
        >>> distiller = Distiller(teacher, student, lamina.distillation.LogitsDistillation(3.0))
        >>> distiller.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        >>> history = distiller.fit(x, y, epochs=1, verbose=0)
        >>> sorted(history.history)
        ['distillation_loss', 'loss', 'student_loss', 'total_loss']
    """

    def __init__(
        self,
        teacher,
        student,
        distillation_losses,
        distillation_loss_weights=None,
        student_loss_weight=0.5,
        name="distiller",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        for role, model in (("Teacher", teacher), ("Student", student)):
            if not isinstance(model, Model):
                raise ValueError(f"{role} must be a lamina Model, got {type(model)}")
        _check_pairs(getattr(teacher, "inputs", None), getattr(student, "inputs", None), "input")
        _check_pairs(getattr(teacher, "outputs", None), getattr(student, "outputs", None), "output")
        self.teacher = teacher
        self.student = student
        if isinstance(student_loss_weight, bool) or not isinstance(
            student_loss_weight, (int, float)
        ):
            raise ValueError(
                f"student_loss_weight must be a number, got {type(student_loss_weight)}"
            )
        if not 0.0 <= student_loss_weight <= 1.0:
            raise ValueError(
                f"student_loss_weight must be between 0.0 and 1.0, got {student_loss_weight}"
            )
        self.student_loss_weight = student_loss_weight
        if distillation_losses is None:
            raise ValueError(
                "'distillation_losses' cannot be `None`. Provide a distillation loss (e.g., "
                "LogitsDistillation or FeatureDistillation) or a list of distillation losses."
            )
        if isinstance(distillation_losses, (list, tuple)):
            self.distillation_losses = list(distillation_losses)
            weights = distillation_loss_weights
            if weights is None:
                weights = [1.0] * len(self.distillation_losses)
            elif len(weights) != len(self.distillation_losses):
                raise ValueError(
                    f"Number of distillation_loss_weights ({len(weights)}) must match number "
                    f"of distillation_losses ({len(self.distillation_losses)})"
                )
            self.distillation_loss_weights = list(weights)
        else:
            self.distillation_losses = [distillation_losses]
            self.distillation_loss_weights = [1.0]
        for loss in self.distillation_losses:
            loss.validate_model_compatibility(teacher, student)
        self._teacher_features = self._feature_model(teacher, "teacher_layer_name")
        self._student_features = self._feature_model(student, "student_layer_name")
        self.teacher.trainable = False
        self.student_loss_tracker = metrics_module.Mean(name="student_loss")
        self.distillation_loss_tracker = metrics_module.Mean(name="distillation_loss")
        self.total_loss_tracker = metrics_module.Mean(name="total_loss")

    def _feature_model(self, model, attribute: str):
        """A model returning `{"final_output": ..., layer name: its output}` in one pass, or
        None when no distillation loss names a layer of `model`."""
        names = []
        for loss in self.distillation_losses:
            name = getattr(loss, attribute, None)
            if name and name not in names:
                names.append(name)
        if not names:
            return None
        if getattr(model, "inputs", None) is None:
            raise ValueError(
                f"Cannot create feature extractor for {model.name}. The model has no symbolic "
                "inputs attribute."
            )
        from lamina.engine.sequential import Sequential

        final = model.layers[-1].output if isinstance(model, Sequential) else model.output
        outputs = {"final_output": final}
        for name in names:
            outputs[name] = model.get_layer(name=name).output
        inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
        return Model(inputs=inputs, outputs=outputs, name=f"{model.name}_multi_feature_extractor")

    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """Set the optimizer (it trains the student), the student's loss and metrics.

        Args:
            optimizer: the optimizer, by name or object.
            loss: the student's supervised loss (a name, an object, or a structure of them
                matching the outputs); required.
            metrics: a list of metrics of the student's outputs.
            **kwargs: passed to `Model.compile`.
        """
        if loss is None:
            raise ValueError("'loss' cannot be `None`.")
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ValueError(f"metrics must be a list or tuple, got {type(metrics)}")
        self._student_loss = tree.map_structure(_loss_function, loss)
        super().compile(optimizer=optimizer, loss=None, metrics=metrics, **kwargs)

    def call(self, inputs, training=None, **kwargs):
        """The student's outputs.

        Args:
            inputs: the inputs.
            training: whether the call is part of training.
            **kwargs: passed to the student.
        """
        return self.student(inputs, training=training, **kwargs)

    def _features(self, x, y_pred):
        if self._teacher_features is not None:
            teacher = self._teacher_features(x, training=False)
        else:
            teacher = {"final_output": self.teacher(x, training=False)}
        if self._student_features is not None:
            student = self._student_features(x, training=True)
        else:
            student = {"final_output": y_pred}
        return teacher, student

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The weighted sum of the student's loss and the distillation losses (sample weights
        are not used, as in Keras).

        Args:
            x: the inputs (the teacher sees them too).
            y: the labels (the student's loss is skipped when None).
            y_pred: the student's outputs.
            sample_weight: unused.
            training: whether this is a training step.
        """
        if y_pred is None:
            y_pred = self(x, training=training)
        student_loss = 0.0
        if self.student_loss_weight > 0.0 and y is not None:
            values = tree.flatten(
                tree.map_structure(lambda loss, t, p: loss(t, p), self._student_loss, y, y_pred)
            )
            student_loss = ops.sum(ops.stack(values)) if len(values) > 1 else values[0]
            if len(getattr(student_loss, "shape", ())) > 0:
                student_loss = ops.mean(student_loss)
        distillation_loss = 0.0
        if self.student_loss_weight < 1.0:
            teacher, student = self._features(x, y_pred)
            for loss, weight in zip(
                self.distillation_losses, self.distillation_loss_weights, strict=True
            ):
                t_name = getattr(loss, "teacher_layer_name", None)
                if t_name is not None:
                    teacher_out = teacher[t_name]
                    student_out = student[
                        getattr(loss, "student_layer_name", None) or "final_output"
                    ]
                else:
                    teacher_out, student_out = teacher["final_output"], y_pred
                loss.validate_outputs(teacher_out, student_out)
                value = loss.compute_loss(teacher_out, student_out)
                if len(getattr(value, "shape", ())) > 0:
                    raise ValueError(
                        f"Distillation loss {type(loss).__name__} returned a non-scalar loss "
                        f"with shape {tuple(value.shape)}. The compute_loss method must return a "
                        "scalar tensor."
                    )
                distillation_loss = distillation_loss + weight * value
        w = self.student_loss_weight
        total = w * student_loss + (1.0 - w) * distillation_loss
        total = ops.convert_to_tensor(total, "float32") if isinstance(total, float) else total
        self.student_loss_tracker.update_state(student_loss)
        self.distillation_loss_tracker.update_state(distillation_loss)
        self.total_loss_tracker.update_state(total)
        return total

    def get_config(self):
        """The constructor's arguments, the models and losses serialized."""
        from lamina.saving import serialize_keras_object

        return {
            "name": self.name,
            "teacher": serialize_keras_object(self.teacher),
            "student": serialize_keras_object(self.student),
            "distillation_losses": [serialize_keras_object(d) for d in self.distillation_losses],
            "distillation_loss_weights": self.distillation_loss_weights,
            "student_loss_weight": self.student_loss_weight,
        }

    @classmethod
    def from_config(cls, config):
        """The distiller `get_config` described.

        Args:
            config: the dict `get_config` returned.
        """
        from lamina.saving import deserialize_keras_object

        config = dict(config)
        for key in ("teacher", "student"):
            config[key] = deserialize_keras_object(config[key])
        config["distillation_losses"] = [
            deserialize_keras_object(d) for d in config["distillation_losses"]
        ]
        return cls(**config)

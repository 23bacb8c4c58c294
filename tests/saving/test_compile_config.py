"""The compile settings a file carries beyond optimizer, loss and metrics: `run_eagerly` and
`steps_per_execution` are written and read back as Keras's `compile_config` has them."""

import json
import zipfile

import numpy as np
import pytest

import lamina
from lamina import layers
from tests.parity import reference


def _compiled(**compile_kwargs):
    model = lamina.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse", **compile_kwargs)
    return model


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize(
    "options",
    [{"run_eagerly": True, "steps_per_execution": 3}, {}],
    ids=["eager-3-steps", "defaults"],
)
def test_execution_options_survive_a_reload(tmp_path, fmt, options):
    path = tmp_path / f"model.{fmt}"
    _compiled(**options).save(path)
    restored = lamina.models.load_model(path)
    assert restored.run_eagerly is options.get("run_eagerly", False)
    assert restored.steps_per_execution == options.get("steps_per_execution", 1)


def test_the_keras_file_names_them_as_keras_does(tmp_path):
    path = tmp_path / "model.keras"
    _compiled(run_eagerly=True, steps_per_execution=4).save(path)
    with zipfile.ZipFile(path) as archive:
        compile_config = json.loads(archive.read("config.json"))["compile_config"]
    assert compile_config["run_eagerly"] is True
    assert compile_config["steps_per_execution"] == 4


def test_keras_reads_them_from_a_lamina_file(tmp_path):
    path = tmp_path / "model.keras"
    _compiled(run_eagerly=True, steps_per_execution=3).save(path)
    loaded = reference.keras_loaded_execution_options(path)
    assert loaded == {"run_eagerly": True, "steps_per_execution": 3}


def test_lamina_reads_them_from_a_keras_file(tmp_path):
    path = tmp_path / "model.keras"
    reference.keras_save_compiled_dense(path, run_eagerly=True, steps_per_execution=2)
    restored = lamina.models.load_model(path)
    assert restored.run_eagerly is True
    assert restored.steps_per_execution == 2


def test_an_invalid_saved_steps_per_execution_leaves_the_model_uncompiled(tmp_path):
    path = tmp_path / "model.keras"
    _compiled().save(path)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    config["compile_config"]["steps_per_execution"] = 0
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    with pytest.warns(UserWarning, match="could not be compiled from the saved settings"):
        restored = lamina.models.load_model(path)
    assert not restored.compiled


def _self_compiling_class(m):
    class SelfCompiling(m.Model):
        """A model whose compile() takes its own arguments, saved through Keras's hooks."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.head = m.layers.Dense(2)

        def call(self, x):
            return self.head(x)

        def compile(self, optimizer, loss_fn):
            super().compile(optimizer=optimizer, loss=loss_fn)
            self.settings = (optimizer, loss_fn)

        def get_compile_config(self):
            return {"opt": self.settings[0], "loss_fn": self.settings[1]}

        def compile_from_config(self, config):
            self.compile(
                m.utils.deserialize_keras_object(config["opt"]),
                m.utils.deserialize_keras_object(config["loss_fn"]),
            )

    return SelfCompiling


def _recompiled(m, path):
    cls = _self_compiling_class(m)
    model = cls()
    model.compile("sgd", "mse")
    model(np.ones((2, 3), dtype="float32"))
    model.save(path)
    restored = m.models.load_model(path, custom_objects={"SelfCompiling": cls})
    return restored.settings, type(restored.optimizer).__name__


def test_a_model_with_its_own_compile_hooks_compiles_itself_on_load(tmp_path):
    assert _recompiled(lamina, tmp_path / "self.keras") == (("sgd", "mse"), "SGD")


@pytest.mark.parity
def test_own_compile_hooks_behave_as_in_keras(tmp_path):
    ours = _recompiled(lamina, tmp_path / "ours.keras")
    assert ours == reference.keras_run(lambda m: _recompiled(m, tmp_path / "theirs.keras"))


def test_default_compile_config_round_trips():
    model = _compiled()
    config = model.get_compile_config()
    twin = lamina.Sequential([layers.Input((3,)), layers.Dense(2)])
    twin.compile_from_config(config)
    assert type(twin.optimizer).__name__ == "SGD"

"""name_scope (variable paths), StatelessScope (reads from a mapping, assignments recorded) and
SymbolicScope (open while a layer's output is inferred on symbolic tensors)."""

import threading

import numpy as np
import pytest

import lamina
from lamina.engine import scopes


def test_name_scopes_nest_deduplicate_and_override():
    with lamina.name_scope("a"):
        with lamina.name_scope("b"):
            assert scopes.current_path() == "a/b"
        owner = object()
        with lamina.name_scope("c", caller=owner), lamina.name_scope("c", caller=owner):
            assert scopes.current_path() == "a/c"  # the same caller re-entering: one level
        with lamina.name_scope("c"), lamina.name_scope("c"):
            assert scopes.current_path() == "a/c/c"  # no caller: two levels
        with lamina.name_scope("d", override_parent="root/x"):
            assert lamina.Variable(0.0, name="v").path == "root/x/d/v"
    assert scopes.current_path() == ""
    with pytest.raises(ValueError, match="without the character `/`"):
        lamina.name_scope("a/b")


def test_name_scopes_are_per_thread():
    seen = []
    with lamina.name_scope("main"):
        worker = threading.Thread(target=lambda: seen.append(scopes.current_path()))
        worker.start()
        worker.join()
    assert seen == [""]


def test_a_nested_layer_builds_its_variables_under_both_names():
    class Inner(lamina.layers.Layer):
        def build(self, input_shape):
            self.w = lamina.Variable("zeros", shape=(input_shape[-1],), name="w")

        def call(self, x):
            return x + self.w

    class Outer(lamina.layers.Layer):
        def build(self, input_shape):
            self.inner = Inner(name="inner")
            self.inner.build_from_shape(input_shape)

        def call(self, x):
            return self.inner(x)

    outer = Outer(name="outer")
    outer(np.ones((1, 2), "float32"))
    assert outer.inner.w.path == "outer/inner/w"


def test_stateless_scope_reads_the_mapping_and_records_assignments():
    variable = lamina.Variable([1.0, 2.0])
    other = lamina.Variable(10.0)
    with lamina.StatelessScope([(variable, np.array([5.0, 6.0]))]) as scope:
        assert variable.value.tolist() == [5.0, 6.0]
        variable.assign_add([1.0, 1.0])
        assert variable.value.tolist() == [6.0, 7.0]  # later reads see the recorded value
        other.assign(20.0)
        assert float(other.value) == 20.0
    assert variable.numpy().tolist() == [1.0, 2.0] and float(other.numpy()) == 10.0
    assert scope.get_current_value(variable).tolist() == [6.0, 7.0]
    assert float(scope.get_current_value(other)) == 20.0
    assert scope.get_current_value(lamina.Variable(0.0)) is None


def test_stateless_scope_casts_values_and_checks_keys_and_shapes():
    variable = lamina.Variable([1.0, 2.0])
    with lamina.StatelessScope([(variable, [3, 4])]) as scope:
        pass
    assert lamina.backend.dtype_name(scope.get_current_value(variable).dtype) == "float32"
    with pytest.raises(ValueError, match="every key of `state_mapping` to be a lamina.Variable"):
        lamina.StatelessScope([("w", 1.0)])
    with pytest.raises(ValueError, match=r"expected a value of shape \(2,\)"):
        lamina.StatelessScope([(variable, [1.0, 2.0, 3.0])])
    with lamina.StatelessScope(), pytest.raises(ValueError, match="inside a StatelessScope"):
        lamina.Variable(1.0)


def test_stateless_scope_collects_added_losses():
    class Penalty(lamina.layers.Layer):
        def call(self, x):
            self.add_loss(x.sum())
            return x

    layer = Penalty()
    with lamina.StatelessScope(collect_losses=True) as scope:
        layer(np.ones((2, 3), "float32"))
    assert [float(loss) for loss in scope.losses] == [6.0]
    assert layer.losses == []


def test_symbolic_scope_is_open_only_while_a_symbolic_call_infers():
    seen = []

    class Spy(lamina.layers.Layer):
        def call(self, x):
            seen.append(scopes.in_symbolic_scope())
            return x * 2

    spy = Spy()
    spy(lamina.Input((3,)))
    symbolic_calls = len(seen)
    spy(np.ones((1, 3), "float32"))
    assert symbolic_calls > 0 and all(seen[:symbolic_calls]) and seen[symbolic_calls:] == [False]
    with lamina.SymbolicScope():
        assert scopes.in_symbolic_scope()
    assert not scopes.in_symbolic_scope()

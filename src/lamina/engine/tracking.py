"""Lists and dicts of layers kept as a layer's attributes: tracked as Keras tracks them.

Keras follows every layer put in a list or dict attribute, whenever it is put there:
`self.blocks = []` then `self.blocks.append(Dense(4))` makes the Dense a sub-layer, its weights
the parent's. torch registers only Modules and ModuleLists assigned directly. A `TrackedList` or
`TrackedDict` stays a plain list / dict to the user and mirrors the layers it holds into a
ModuleList registered as `_tracked_<attribute>` (torch resolves a registered name with getattr, so
it cannot share the attribute's). A container that takes a layer moves after the
sub-layers tracked before it, and each sub-layer is numbered when first tracked, so sub-layers
keep Keras's tracking order (what `get_weights()` follows) even when containers are assigned empty
and filled later, in turn.
"""

from __future__ import annotations

from torch import nn

PREFIX = "_tracked_"


def holds_layers(value) -> bool:
    """Whether a list / tuple / dict holds a Module, at any depth."""
    return bool(_modules_in(value))


def _modules_in(value, _open: frozenset = frozenset()) -> list[nn.Module]:
    """The Modules in `value`, depth first. A container that holds itself
    (`self.blocks.append(self.blocks)`, which Keras accepts) is walked once: `_open` holds the
    containers being walked."""
    if isinstance(value, nn.Module):
        return [value]
    if not isinstance(value, (list, tuple, dict)) or id(value) in _open:
        return []
    inner = _open | {id(value)}
    items = value.values() if isinstance(value, dict) else value
    return [module for item in items for module in _modules_in(item, inner)]


def note_tracked(owner: nn.Module, modules) -> None:
    """Number each of `modules` the first time `owner` tracks it. Keras orders sub-layers (and
    so weights) by when each was tracked, also when two lists are filled in turn; a container
    here is one ModuleList, so `ordered` sorts by these numbers."""
    order = owner.__dict__.setdefault("_tracking_order", {})
    for module in modules:
        order.setdefault(id(module), len(order))


def ordered(owner: nn.Module, sublayers: list) -> list:
    """`sublayers` in the order `owner` tracked them; those it never numbered (registered by
    torch directly) keep their places."""
    order = owner.__dict__.get("_tracking_order")
    if not order:
        return sublayers
    slots = [i for i, layer in enumerate(sublayers) if id(layer) in order]
    result = list(sublayers)
    ranked = sorted((sublayers[i] for i in slots), key=lambda layer: order[id(layer)])
    for slot, layer in zip(slots, ranked, strict=True):
        result[slot] = layer
    return result


class Tracked:
    """What TrackedList and TrackedDict share: the owner and the attribute they mirror into."""

    _owner: nn.Module | None = None
    _key = ""

    def _attach(self, owner: nn.Module, attribute: str) -> None:
        self._owner, self._key = owner, PREFIX + attribute
        self._sync()

    def _sync(self, added: bool = True) -> None:
        owner = self._owner
        if owner is None:
            return  # being rebuilt by copy / pickle: the owner attaches it afterwards
        modules = _modules_in(self)
        if added:
            # Keras orders sub-layers by when each was tracked: a container that just took a
            # layer moves after every sub-layer tracked before it (and `ordered` interleaves
            # containers filled in turn).
            owner._modules.pop(self._key, None)
            note_tracked(owner, modules)
        owner._modules[self._key] = nn.ModuleList(modules)

    def _changed(self, *items) -> None:
        """Resync after a change that added `items` (or removed some, when none are given)."""
        shadow = None if self._owner is None else self._owner._modules.get(self._key)
        if holds_layers(list(items)):
            self._sync()
        elif not items and shadow is not None and len(shadow):
            self._sync(added=False)


class TrackedList(Tracked, list):
    """A list attribute of a layer whose layers are the layer's sub-layers."""

    def append(self, item) -> None:
        super().append(item)
        self._changed(item)

    def extend(self, items) -> None:
        items = list(items)
        super().extend(items)
        self._changed(*items)

    def insert(self, index, item) -> None:
        super().insert(index, item)
        self._changed(item)

    def __iadd__(self, items):
        self.extend(items)
        return self

    def __setitem__(self, index, item) -> None:
        super().__setitem__(index, item)
        self._sync()

    def __delitem__(self, index) -> None:
        super().__delitem__(index)
        self._changed()

    def pop(self, index=-1):
        item = super().pop(index)
        self._changed()
        return item

    def remove(self, item) -> None:
        super().remove(item)
        self._changed()

    def clear(self) -> None:
        super().clear()
        self._changed()

    def sort(self, *args, **kwargs) -> None:
        super().sort(*args, **kwargs)
        self._changed()

    def reverse(self) -> None:
        super().reverse()
        self._changed()

    def __reduce_ex__(self, protocol):
        return (list, (list(self),))  # a copy or pickle is a plain list


class TrackedDict(Tracked, dict):
    """A dict attribute of a layer whose layer values are the layer's sub-layers."""

    def __setitem__(self, key, item) -> None:
        super().__setitem__(key, item)
        self._sync()

    def __delitem__(self, key) -> None:
        super().__delitem__(key)
        self._changed()

    def update(self, *args, **kwargs) -> None:
        super().update(*args, **kwargs)
        self._sync()

    def setdefault(self, key, default=None):
        item = super().setdefault(key, default)
        self._changed(item)
        return item

    def pop(self, key, *default):
        item = super().pop(key, *default)
        self._changed()
        return item

    def popitem(self):
        item = super().popitem()
        self._changed()
        return item

    def clear(self) -> None:
        super().clear()
        self._changed()

    def __reduce_ex__(self, protocol):
        return (dict, (dict(self),))


def track(owner: nn.Module, attribute: str, value):
    """Register the layers in a plain list / dict / tuple attribute; returns what the attribute
    should hold: a TrackedList / TrackedDict for a list / dict that is empty (it may be filled
    with layers later) or holds layers, else `value` itself."""
    if isinstance(value, Tracked):
        value._attach(owner, attribute)
        return value
    if type(value) is tuple and holds_layers(value):
        note_tracked(owner, _modules_in(value))
        owner._modules[PREFIX + attribute] = nn.ModuleList(_modules_in(value))  # immutable: once
        return value
    if type(value) is list:
        tracked = TrackedList(value)
    elif type(value) is dict:
        tracked = TrackedDict(value)
    else:
        return value
    if value and not holds_layers(value):
        return value
    tracked._attach(owner, attribute)
    return tracked

"""Every registered method with an example, called on all four faces against each gateway.

The suite is driven by the registry (``tg_connect/protocol/registry.py``): a builder registered
with ``@method(face, example={...})`` is called here through ``api.flow()``, ``api.async_flow()``,
``api.socket()`` and ``api.async_socket()``, and its result must be of the type the builder
declares (``Call[C, R]`` -> ``R``). A new service gets these tests by registering its builder
with an example; nothing here changes.
"""

from __future__ import annotations

import inspect
import sys
import typing
from typing import Any

import pytest

from tg_connect.protocol import registry
from tg_connect.protocol import services as _services  # noqa: F401  (registers every builder)

from .conftest import Face

EXAMPLES = [m for m in registry.METHODS if m.example is not None]


def result_type(method: registry.Method) -> type:
    """The class of ``R`` in the builder's ``Call[C, R]`` (``list[X]`` -> ``list``)."""
    annotation = inspect.signature(method.builder).return_annotation  # text: the builders postpone annotations
    result = typing.get_args(eval(annotation, vars(sys.modules[method.builder.__module__])))[1]
    origin = typing.get_origin(result)
    if result is type(None):
        return type(None)
    return origin if isinstance(origin, type) else result


def face_object(client: Any, face: str) -> Any:
    """The object a method of ``face`` lives on, from a flow-layer client."""
    if face == "flow":
        return client
    if face == "flow-instance":
        return client.flow("default")
    return getattr(client, face)()


def test_the_registry_has_examples_for_every_face() -> None:
    assert {m.face for m in EXAMPLES} == {"flow-instance", "flow", "config", "library", "collection", "iam"}


@pytest.mark.parametrize("method", EXAMPLES, ids=lambda m: f"{m.face}.{m.name}")
def test_a_registered_method_answers_on_every_face(face: Face, method: registry.Method) -> None:
    example = dict(method.example or {})
    result = face.call(lambda client: getattr(face_object(client, method.face), method.name)(**example))
    expected = result_type(method)
    assert isinstance(result, expected), f"{method.name} gave {type(result).__name__}, not {expected.__name__}"

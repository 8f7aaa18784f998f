"""The registry ties the client together: every builder is registered, every registered method
is on its faces, and the generated face methods are what ``scripts/gen_faces.py`` writes now.

(The local gateway's side — a handler for every registered service and operation — is
checked in ``tests/unit/test_local_registration.py``.)
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tg_connect.flow import core, sync
from tg_connect.protocol import builders, registry, services
from tg_connect.protocol.calls import Call

ROOT = Path(__file__).resolve().parents[2]


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


gen_faces = load_script("gen_faces")
gen_sync = load_script("gen_sync")


def builder_functions() -> list[tuple[str, object]]:
    """Every public function of the builder modules that returns a :class:`Call`."""
    out = []
    for info in pkgutil.iter_modules(builders.__path__):
        module = importlib.import_module(f"{builders.__name__}.{info.name}")
        for name, fn in vars(module).items():
            if (
                inspect.isfunction(fn)
                and fn.__module__ == module.__name__
                and not name.startswith("_")
                and str(inspect.signature(fn).return_annotation).startswith("Call[")
            ):
                out.append((f"{info.name}.{name}", fn))
    return out


def test_every_builder_is_registered_as_a_face_method() -> None:
    registered = {id(m.builder) for m in registry.METHODS}
    unregistered = [name for name, fn in builder_functions() if id(fn) not in registered]
    assert builder_functions(), "no builders found: the test would pass vacuously"
    assert unregistered == [], f"builders without @method(...): {unregistered}"


def test_every_registered_builder_is_reachable_through_the_services_namespace() -> None:
    for m in registry.METHODS:
        assert getattr(services, m.builder.__name__) is m.builder, m.builder.__name__


def sync_class(async_name: str) -> type:
    job = gen_sync.JOBS[0]
    cls: type = getattr(sync, job.classes[async_name])
    return cls


@pytest.mark.parametrize("method", registry.METHODS, ids=lambda m: f"{m.face}.{m.name}")
def test_every_registered_method_is_on_its_async_and_sync_face(method: registry.Method) -> None:
    async_name = gen_faces.FACE_CLASSES[method.face]
    async_face = getattr(core, async_name)
    assert callable(getattr(async_face, method.name, None)), f"{async_name}.{method.name} is missing"
    sync_face = sync_class(async_name)
    assert callable(getattr(sync_face, method.name, None)), f"{sync_face.__name__}.{method.name} is missing"
    if method.generated:  # same parameters as the builder, in order, with the same defaults
        face_params = list(inspect.signature(getattr(async_face, method.name)).parameters.values())[1:]
        builder_params = list(inspect.signature(method.builder).parameters.values())
        assert [(p.name, p.kind, p.default) for p in face_params] == [
            (p.name, p.kind, p.default) for p in builder_params
        ]


def test_every_registered_builder_returns_a_call() -> None:
    for m in registry.METHODS:
        hints = str(inspect.signature(m.builder).return_annotation)
        assert hints.startswith("Call["), f"{m.builder.__name__} returns {hints}"
    assert Call is services.Call


def test_the_generated_face_methods_are_what_the_generator_writes() -> None:
    path = ROOT / gen_faces.TARGET
    current = path.read_text()
    wanted = gen_faces.generate(current, registry.METHODS)
    if current != wanted:
        diff = "".join(
            difflib.unified_diff(
                current.splitlines(True),
                wanted.splitlines(True),
                f"{gen_faces.TARGET} (checked in)",
                f"{gen_faces.TARGET} (generated)",
            )
        )
        pytest.fail(f"{gen_faces.TARGET} is stale: run {gen_faces.COMMAND}\n{diff}")

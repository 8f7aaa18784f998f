"""Builders of the global config and flow services (config values, flows, blueprints)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import (
    Any,
    TypeVar,
)

from ...errors import InputError, ProtocolError, ServiceError
from ...types import (
    ConfigKey,
    ConfigSnapshot,
    ConfigValue,
)
from ..calls import Call, call_single, check_json_object, check_mapping, check_str, last_frame
from ..registry import SERVICES, method

R = TypeVar("R")


# -- config ---------------------------------------------------------------------------------


def _config_values(r: Mapping[str, Any]) -> list[ConfigValue]:
    out = []
    for v in r.get("values") or []:
        value = v.get("value")
        out.append(
            ConfigValue(
                str(v.get("type")), str(v.get("key")), value if isinstance(value, str) else None, v.get("workspace")
            )
        )
    return out


def _key(k: Any) -> dict[str, str]:
    if isinstance(k, ConfigKey):
        return {"type": check_str("type", k.type), "key": check_str("key", k.key)}
    if isinstance(k, Sequence) and not isinstance(k, str) and len(k) == 2:
        return {"type": check_str("type", k[0]), "key": check_str("key", k[1])}
    raise InputError(f"a config key is a ConfigKey or a (type, key) pair, not {k!r}")


def _config_read(
    body: dict[str, Any],
    convert: Callable[[Mapping[str, Any]], R],
    check: Callable[[Mapping[str, Any]], bool] = lambda r: True,
) -> Call[Mapping[str, Any], R]:
    """A config read. Its dropped error is the all-defaults reply with ``version`` 0, while
    every real answer carries the (positive) config version."""

    def parse(r: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        version = r.get("version")
        if not isinstance(version, int) or version <= 0 or not check(r):
            raise ServiceError(
                "config",
                "missing-field",
                f"config {body['operation']} answered with version {version!r} and no data; the"
                " gateway drops config errors, so the request failed in the back end",
            )
        return [r]

    return Call(SERVICES["config"], body, parse, lambda frames: convert(last_frame(frames)))


@method("config", "get")
def config_get(keys: Iterable[ConfigKey | tuple[str, str]]) -> Call[Mapping[str, Any], list[ConfigValue]]:
    """Values of ``keys``; a missing key's value is ``None``.

    Values of ``keys`` (a missing key's value is None)."""
    wanted = [_key(k) for k in keys]
    return _config_read(
        {"operation": "get", "keys": wanted}, _config_values, lambda r: len(r.get("values") or []) == len(wanted)
    )


@method("config", "put")
def config_put(values: Iterable[ConfigValue | tuple[str, str, str]]) -> Call[Mapping[str, Any], None]:
    """Every value must be a string: the config service fails silently on anything else."""
    out = []
    for v in values:
        if isinstance(v, ConfigValue):
            t, k, val = v.type, v.key, v.value
        elif isinstance(v, Sequence) and not isinstance(v, str) and len(v) == 3:
            t, k, val = v
        else:
            raise InputError(f"a config value is a ConfigValue or a (type, key, value) triple, not {v!r}")
        out.append(
            {
                "type": check_str("type", t),
                "key": check_str("key", k),
                "value": check_str(f"value of {t}/{k}", val, empty=True),
            }
        )
    return call_single("config", {"operation": "put", "values": out}, lambda r: None, ())


@method("config", "delete")
def config_delete(keys: Iterable[ConfigKey | tuple[str, str]]) -> Call[Mapping[str, Any], None]:
    return call_single("config", {"operation": "delete", "keys": [_key(k) for k in keys]}, lambda r: None, ())


@method("config", "list", example={"type": "prompt"})
def config_list(type: str) -> Call[Mapping[str, Any], list[str]]:
    """The keys of one type."""
    return _config_read(
        {"operation": "list", "type": check_str("type", type)}, lambda r: [str(k) for k in r.get("directory") or []]
    )


@method("config", "get_values", generated=False)
@method("config", "get_values_all_workspaces", generated=False)
def config_values(type: str, *, all_workspaces: bool = False) -> Call[Mapping[str, Any], list[ConfigValue]]:
    op = "getvalues-all-ws" if all_workspaces else "getvalues"
    return _config_read({"operation": op, "type": check_str("type", type)}, _config_values)


@method("config", "all", example={})
def config_all() -> Call[Mapping[str, Any], ConfigSnapshot]:
    """``(config, version)``: every type's keys and values, and the config version."""

    def convert(r: Mapping[str, Any]) -> ConfigSnapshot:
        config = r.get("config") or {}
        return ConfigSnapshot({str(t): dict(v) for t, v in config.items()}, int(r["version"]))

    return _config_read({"operation": "config"}, convert)


# -- flow management ---------------------------------------------------------------------------


@method("flow", "list", example={})
def flow_list() -> Call[Mapping[str, Any], list[str]]:
    """The ids of the running flows."""
    return call_single("flow", {"operation": "list-flows"}, lambda r: [str(x) for x in r["flow-ids"]], ("flow-ids",))


@method("flow", "get", example={"id": "default"})
def flow_get(id: str) -> Call[Mapping[str, Any], dict[str, Any]]:
    """A flow's record (blueprint, description, parameters, interfaces)."""
    flow_id = check_str("id", id)

    def convert(r: Mapping[str, Any]) -> dict[str, Any]:
        text = r.get("flow")
        if not text:  # an unknown flow is the dropped error {"flow": ""}
            raise ServiceError(
                "flow",
                "missing-field",
                f"no flow {flow_id!r} (the gateway drops flow errors: an unknown flow comes back as an empty record)",
            )
        value = json.loads(text) if isinstance(text, str) else text
        if not isinstance(value, dict):
            raise ProtocolError("flow: 'flow' is not a JSON object")
        return value

    return call_single("flow", {"operation": "get-flow", "flow-id": flow_id}, convert, ())


@method("flow", "start", generated=False)
def flow_start(
    blueprint_name: str, id: str, description: str = "", parameters: Mapping[str, str] | None = None
) -> Call[Mapping[str, Any], None]:
    body: dict[str, Any] = {
        "operation": "start-flow",
        "flow-id": check_str("id", id),
        "blueprint-name": check_str("blueprint_name", blueprint_name),
        "description": check_str("description", description, empty=True),
    }
    if parameters is not None:
        body["parameters"] = {
            check_str("parameter name", k): check_str(f"parameter {k!r}", v, empty=True)
            for k, v in check_mapping("parameters", parameters).items()
        }
    return call_single("flow", body, lambda r: None, ())


@method("flow", "stop", generated=False)
def flow_stop(id: str) -> Call[Mapping[str, Any], None]:
    return call_single("flow", {"operation": "stop-flow", "flow-id": check_str("id", id)}, lambda r: None, ())


@method("flow", "list_blueprints", example={})
def blueprint_list() -> Call[Mapping[str, Any], list[str]]:
    return call_single(
        "flow", {"operation": "list-blueprints"}, lambda r: [str(x) for x in r["blueprint-names"]], ("blueprint-names",)
    )


@method("flow", "get_blueprint")
def blueprint_get(name: str) -> Call[Mapping[str, Any], dict[str, Any]]:
    blueprint = check_str("name", name)

    def convert(r: Mapping[str, Any]) -> dict[str, Any]:
        text = r.get("blueprint-definition")
        if not text:
            raise ServiceError(
                "flow",
                "missing-field",
                f"no blueprint {blueprint!r} (the gateway drops flow errors: an unknown"
                " blueprint comes back as an empty definition)",
            )
        value = json.loads(text) if isinstance(text, str) else text
        if not isinstance(value, dict):
            raise ProtocolError("flow: 'blueprint-definition' is not a JSON object")
        return value

    return call_single("flow", {"operation": "get-blueprint", "blueprint-name": blueprint}, convert, ())


@method("flow", "put_blueprint")
def blueprint_put(name: str, definition: Mapping[str, Any] | str) -> Call[Mapping[str, Any], None]:
    text = definition if isinstance(definition, str) else json.dumps(check_json_object("definition", definition))
    try:
        if not isinstance(json.loads(text), dict):
            raise ValueError
    except ValueError:
        raise InputError("a blueprint definition must be a JSON object") from None
    return call_single(
        "flow",
        {"operation": "put-blueprint", "blueprint-name": check_str("name", name), "blueprint-definition": text},
        lambda r: None,
        (),
    )


@method("flow", "delete_blueprint")
def blueprint_delete(name: str) -> Call[Mapping[str, Any], None]:
    return call_single(
        "flow", {"operation": "delete-blueprint", "blueprint-name": check_str("name", name)}, lambda r: None, ()
    )

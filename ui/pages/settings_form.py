"""The settings form of a node, generated from its kind's config JSON schema, plus the options
every node has (label, timeout, failure handling, retry, breaker, cache).

The parsing is plain functions (``parse_value``, ``node_with``) so it is tested without a page;
``SettingsForm`` only lays out widgets and reads them back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nicegui import ui

from .frame import tag

OMIT: Any = object()
"""A field left empty that has a default: not written into the node."""
MISSING: Any = object()


@dataclass(frozen=True)
class Field:
    name: str
    title: str
    type: str
    """string | number | integer | boolean | enum | json"""
    options: list[Any] = field(default_factory=list)
    nullable: bool = False
    required: bool = False
    default: Any = MISSING
    description: str = ""


def config_fields(schema: Mapping[str, Any]) -> list[Field]:
    """One field per property of a kind's config schema (pydantic's JSON schema)."""
    required = set(schema.get("required", ()))
    fields = []
    for name, prop in (schema.get("properties") or {}).items():
        inner, nullable = prop, False
        variants = prop.get("anyOf")
        if variants:
            others = [v for v in variants if v.get("type") != "null"]
            nullable = len(others) < len(variants)
            inner = others[0] if len(others) == 1 else {}
        if "enum" in inner:
            kind, options = "enum", list(inner["enum"])
        elif inner.get("type") in ("string", "number", "integer", "boolean"):
            kind, options = inner["type"], []
        else:
            kind, options = "json", []
        fields.append(Field(name, prop.get("title") or name, kind, options, nullable, name in required,
                            prop.get("default", MISSING), prop.get("description", "")))
    return fields


def parse_value(f: Field, raw: Any) -> Any:
    """A widget's value as config data, ``OMIT``, or ``ValueError`` with a message for people."""
    if f.type == "boolean":
        return bool(raw)
    if f.type == "enum":
        return raw if raw is not None or f.nullable else OMIT
    if f.type in ("number", "integer"):
        if raw is None or raw == "":
            if f.nullable:
                return None
            if f.required:
                raise ValueError("a number is required")
            return OMIT
        value = float(raw)
        if f.type == "integer":
            if value != int(value):
                raise ValueError("a whole number is required")
            return int(value)
        return int(value) if value == int(value) and isinstance(raw, int) else value
    text = "" if raw is None else str(raw)
    if f.type == "string":
        if text == "" and f.nullable:
            return None
        return text if text or f.required or f.default is MISSING else OMIT
    if not text.strip():  # json
        if f.nullable and f.default is MISSING:
            return None
        return OMIT if not f.required else _fail("a JSON value is required")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None


def _fail(message: str) -> Any:
    raise ValueError(message)


def config_from(fields: list[Field], raw: Mapping[str, Any], original: Mapping[str, Any]) -> tuple[
        dict[str, Any], dict[str, str]]:
    """The new config (keys the user did not touch and left at their default stay out)."""
    config = {k: v for k, v in original.items() if k not in {f.name for f in fields}}  # unknown keys are kept
    errors: dict[str, str] = {}
    for f in fields:
        try:
            value = parse_value(f, raw.get(f.name))
        except ValueError as exc:
            errors[f.name] = str(exc)
            continue
        if value is OMIT or (f.name not in original and f.default is not MISSING and value == f.default):
            continue
        config[f.name] = value
    return config, errors


def words(text: str) -> list[str]:
    return [w.strip() for w in text.replace("\n", ",").split(",") if w.strip()]


def node_with(node: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The node with the form's changes; an empty option that the node did not have stays out."""
    updated = dict(node)
    for key, value in changes.items():
        if key not in node and (value is None or (value == "" and key in ("label", "description"))):
            continue
        updated[key] = value
    for key in ("timeout", "retry", "breaker", "cache"):
        if updated.get(key) is None:
            updated.pop(key, None)
    if not updated.get("optional"):
        updated.pop("optional", None)
        if updated.get("default_output") is None:
            updated.pop("default_output", None)
    return updated


def policies(raw: Mapping[str, Any], node: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Node-level options from the form (unknown policy fields of the node are kept)."""
    errors: dict[str, str] = {}

    def number(key: str, value: Any, *, integer: bool = False) -> Any:
        f = Field(key, key, "integer" if integer else "number", nullable=True)
        try:
            return parse_value(f, value)
        except ValueError as exc:
            errors[key] = str(exc)
            return None

    changes: dict[str, Any] = {"label": raw.get("label") or "", "description": raw.get("description") or "",
                               "timeout": number("timeout", raw.get("timeout")),
                               "optional": bool(raw.get("optional"))}
    try:
        changes["default_output"] = parse_value(Field("default_output", "", "json", nullable=True),
                                                raw.get("default_output"))
    except ValueError as exc:
        errors["default_output"] = str(exc)
    changes["retry"] = None
    if raw.get("retry_enabled"):
        retry = dict(node.get("retry") or {})
        for key in ("max_attempts",):
            retry[key] = number(key, raw.get(key), integer=True)
        for key in ("base_delay", "max_delay"):
            retry[key] = number(key, raw.get(key))
        retry["retry_on"] = words(raw.get("retry_on") or "")
        changes["retry"] = {k: v for k, v in retry.items() if v is not None}
    changes["breaker"] = None
    if (raw.get("breaker_name") or "").strip():
        breaker = dict(node.get("breaker") or {})
        breaker["name"] = raw["breaker_name"].strip()
        breaker["failure_threshold"] = number("failure_threshold", raw.get("failure_threshold"), integer=True)
        breaker["reset_timeout"] = number("reset_timeout", raw.get("reset_timeout"))
        changes["breaker"] = {k: v for k, v in breaker.items() if v is not None}
    changes["cache"] = None
    if raw.get("cache_enabled") or node.get("cache"):
        changes["cache"] = {"enabled": bool(raw.get("cache_enabled")),
                            "ttl": number("ttl", raw.get("ttl")) or 3600.0}
    return changes, errors


class SettingsForm:
    """Widgets for one node, laid out in the current container; ``read()`` gives the new node."""

    def __init__(self, node: Mapping[str, Any], kind: Mapping[str, Any] | None,
                 choices: Mapping[str, Sequence[str]] | None = None) -> None:
        """``choices``: known values of string options by name (e.g. the registered functions)."""
        self.node = dict(node)
        self.choices = dict(choices or {})
        self.fields = config_fields((kind or {}).get("config_schema") or {})
        self.widgets: dict[str, ui.element] = {}
        self.options: dict[str, ui.element] = {}
        config = self.node.get("config") or {}
        self._option("label", ui.input("Label", value=self.node.get("label") or ""))
        for f in self.fields:
            self.widgets[f.name] = tag(self._widget(f, config.get(f.name, MISSING)), f"cfg-{f.name}")
        with ui.expansion("Timeout and failure handling").classes("full-width"):
            self._option("timeout", ui.number("Timeout (s)", value=self.node.get("timeout"), min=0))
            self._option("optional", ui.checkbox("Optional (go on with a default output)",
                                                 value=bool(self.node.get("optional"))))
            self._option("default_output", ui.textarea("Default output (JSON)", value=_json(
                self.node.get("default_output")) if self.node.get("default_output") is not None else ""))
            self._option("description", ui.textarea("Description", value=self.node.get("description") or ""))
        retry = self.node.get("retry") or {}
        with ui.expansion("Retry").classes("full-width"):
            self._option("retry_enabled", ui.checkbox("Retry failed attempts", value=bool(retry)))
            self._option("max_attempts", ui.number("Max attempts", value=retry.get("max_attempts", 3), min=1,
                                                   precision=0))
            self._option("base_delay", ui.number("Base delay (s)", value=retry.get("base_delay", 0.5), min=0))
            self._option("max_delay", ui.number("Max delay (s)", value=retry.get("max_delay", 30.0), min=0))
            self._option("retry_on", ui.input("Retry on (error types, comma separated)",
                                              value=", ".join(retry.get("retry_on", ()))))
        breaker = self.node.get("breaker") or {}
        with ui.expansion("Circuit breaker").classes("full-width"):
            self._option("breaker_name", ui.input("Breaker name (empty: none)", value=breaker.get("name", "")))
            self._option("failure_threshold", ui.number("Failure threshold", min=1, precision=0,
                                                        value=breaker.get("failure_threshold", 5)))
            self._option("reset_timeout", ui.number("Reset timeout (s)", value=breaker.get("reset_timeout", 30.0),
                                                    min=0))
        cache = self.node.get("cache") or {}
        with ui.expansion("Cache").classes("full-width"):
            self._option("cache_enabled", ui.checkbox("Cache outputs", value=bool(cache.get("enabled"))))
            self._option("ttl", ui.number("TTL (s)", value=cache.get("ttl", 3600.0), min=0))
        self.errors = tag(ui.column().classes("q-gutter-xs"), "settings-errors")

    def _option(self, name: str, widget: ui.element) -> None:
        self.options[name] = tag(widget.classes("full-width").props("dense"), f"opt-{name}")

    def _widget(self, f: Field, value: Any) -> ui.element:
        label = f.title + (" *" if f.required else "")
        present = value is not MISSING
        current = value if present else (None if f.default is MISSING else f.default)
        if f.type == "boolean":
            widget: ui.element = ui.checkbox(label, value=bool(current))
        elif f.type == "enum":
            options = ([None] if f.nullable else []) + f.options
            widget = ui.select({o: "(none)" if o is None else str(o) for o in options}, label=label,
                               value=current if current in options else None)
        elif f.type in ("number", "integer"):
            widget = ui.number(label, value=current, precision=0 if f.type == "integer" else None)
        elif f.type == "string" and self.choices.get(f.name):
            known = list(self.choices[f.name])
            if current and current not in known:
                known.insert(0, str(current))
            widget = ui.select(known, label=label, value=current or None, with_input=True,
                               new_value_mode="add-unique")
        elif f.type == "string":
            widget = ui.input(label, value="" if current is None else str(current))
        else:
            text = _json(value) if present else ("" if f.default in (MISSING, None) else _json(f.default))
            widget = ui.textarea(label + " (JSON)", value=text).props("autogrow")
        if f.description:
            widget.tooltip(f.description)
        return widget.classes("full-width").props("dense")

    def read(self) -> tuple[dict[str, Any] | None, dict[str, str]]:
        """The node with the form's values, or None and the problems by field."""
        raw = {name: getattr(w, "value", None) for name, w in self.widgets.items()}
        config, errors = config_from(self.fields, raw, self.node.get("config") or {})
        changes, option_errors = policies({n: getattr(w, "value", None) for n, w in self.options.items()}, self.node)
        errors.update(option_errors)
        self.errors.clear()
        with self.errors:
            for name, message in errors.items():
                ui.label(f"{name}: {message}").classes("gf-problem")
        if errors:
            return None, errors
        return node_with(self.node, {**changes, "config": config}), {}


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)

"""The settings form of a node, generated from JSON schemas: the kind's config model, the
node's own options (``NodeSpec``) and the policy models (retry, breaker, cache). Defaults,
titles and descriptions come from those models only; a description is shown as help text.

The parsing is plain functions (``parse_value``, ``config_from``, ``read_node``) so it is
tested without a page; ``SettingsForm`` only lays out widgets and reads them back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nicegui import ui
from nicegui.elements.mixins.validation_element import ValidationElement
from pydantic import BaseModel, ValidationError

from graphflow.model import NodeSpec
from graphflow.policies import BreakerPolicy, CachePolicy, RetryPolicy

from .frame import tag
from .routes_table import RoutesTable

OMIT: Any = object()
"""A field left empty that has a default: not written into the node."""
MISSING: Any = object()
GENERAL = ("label", "timeout", "optional", "default_output", "description")
"""The node's own options (``NodeSpec`` fields) the form shows."""
SECTIONS: tuple[tuple[str, str, type[BaseModel]], ...] = (
    ("retry", "Retry", RetryPolicy), ("breaker", "Circuit breaker", BreakerPolicy), ("cache", "Cache", CachePolicy))
"""Node key, title, policy model. A section's ``enabled`` field, if it has one, is its on/off switch."""


@dataclass(frozen=True)
class Field:
    name: str
    title: str
    type: str
    """string | text (multi-line) | number | integer | boolean | enum | words | json"""
    options: list[Any] = field(default_factory=list)
    nullable: bool = False
    required: bool = False
    default: Any = MISSING
    description: str = ""


def config_fields(schema: Mapping[str, Any], only: Sequence[str] | None = None) -> list[Field]:
    """One field per property of a pydantic JSON schema (``only``: these, in this order)."""
    required = set(schema.get("required", ()))
    props = schema.get("properties") or {}
    fields = []
    for name in only or props:
        prop = props[name]
        inner, nullable = prop, False
        if variants := prop.get("anyOf"):
            others = [v for v in variants if v.get("type") != "null"]
            nullable = len(others) < len(variants)
            inner = others[0] if len(others) == 1 else {}
        kind = inner.get("type")
        if "enum" in inner:
            kind = "enum"
        elif kind == "string" and prop.get("format") == "multiline":
            kind = "text"
        elif kind == "array" and (inner.get("items") or {}).get("type") == "string":
            kind = "words"
        elif kind not in ("string", "number", "integer", "boolean"):
            kind = "json"
        fields.append(Field(name, prop.get("title") or name, kind, list(inner.get("enum", ())), nullable,
                            name in required, prop.get("default", MISSING),
                            prop.get("description", "").replace("``", "")))
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
    if f.type == "words":
        if not text.strip() and not f.required:
            return None if f.nullable else OMIT
        return [w.strip() for w in text.replace("\n", ",").split(",") if w.strip()]
    if f.type in ("string", "text"):
        if text == "" and f.nullable:
            return None
        return text if text or f.required or f.default is MISSING else OMIT
    if not text.strip():  # json
        if f.nullable and f.default is MISSING:
            return None
        if f.required:
            raise ValueError("a JSON value is required")
        return OMIT
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None


def config_from(fields: list[Field], raw: Mapping[str, Any], original: Mapping[str, Any]) -> tuple[
        dict[str, Any], dict[str, str]]:
    """The new values (keys the user did not touch and left at their default stay out)."""
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


def general_fields() -> list[Field]:
    return config_fields(NodeSpec.model_json_schema(), GENERAL)


def section_fields(model: type[BaseModel]) -> list[Field]:
    return config_fields(model.model_json_schema())


def read_node(node: Mapping[str, Any], config_schema: Mapping[str, Any], raw: Mapping[str, Any],
              *, can_retry: bool = True) -> tuple[dict[str, Any], dict[str, str]]:
    """The node with the form's values. ``raw``: widget values by name: ``cfg.<field>``,
    ``<option>``, ``<section>`` (its switch) and ``<section>.<field>``."""
    errors: dict[str, str] = {}

    def part(fields: list[Field], prefix: str, original: Mapping[str, Any]) -> dict[str, Any]:
        values, problems = config_from(fields, {f.name: raw.get(prefix + f.name) for f in fields}, original)
        errors.update({prefix + k: v for k, v in problems.items()})
        return values

    updated = part(general_fields(), "", node)
    for f in general_fields():  # an option at its empty default is left out of the node
        if updated.get(f.name, MISSING) == f.default and f.default in (None, False, ""):
            updated.pop(f.name)
    updated["config"] = part(config_fields(config_schema), "cfg.", node.get("config") or {})
    for key, _, model in SECTIONS if can_retry else ():
        fields = section_fields(model)
        switch = "enabled" in {f.name for f in fields}
        if not raw.get(key):
            updated.pop(key, None)
            continue
        values = part([f for f in fields if f.name != "enabled"], f"{key}.", node.get(key) or {})
        if switch:
            values["enabled"] = True
        try:
            updated[key] = model.model_validate(values).model_dump(mode="json", include=set(values))
        except ValidationError as exc:
            for problem in exc.errors():
                errors[".".join([key, *map(str, problem["loc"])])] = problem["msg"]
    return updated, errors


class SettingsForm:
    """Widgets for one node, laid out in the current container; ``read()`` gives the new node."""

    def __init__(self, node: Mapping[str, Any], kind: Mapping[str, Any] | None,
                 choices: Mapping[str, Sequence[str]] | None = None) -> None:
        """``choices``: known values of string options by name (e.g. the registered functions)."""
        self.node = dict(node)
        self.kind = dict(kind or {})
        self.choices = dict(choices or {})
        self.widgets: dict[str, ui.element] = {}
        self.errors = tag(ui.column().classes("q-gutter-xs full-width"), "settings-errors")
        """Every problem of the last ``read()``, above the fields (each is also shown at its field)."""
        general = {f.name: f for f in general_fields()}
        self._add(general["label"], "", self.node)
        config = self.node.get("config") or {}
        for f in config_fields(self.kind.get("config_schema") or {}):
            self._add(f, "cfg.", config, marker=f"cfg-{f.name}")
        with ui.expansion("Timeout and failure handling").classes("full-width"):
            for name in GENERAL[1:]:
                self._add(general[name], "", self.node)
        for key, title, model in SECTIONS if self.can_retry else ():
            current = self.node.get(key) or {}
            with tag(ui.expansion(title).classes("full-width"), f"section-{key}"):
                self._switch(key, f"Use {title.lower()}", bool(current) and current.get("enabled", True))
                for f in section_fields(model):
                    if f.name != "enabled":
                        self._add(f, f"{key}.", current, marker=f"{key}-{f.name}")

    @property
    def can_retry(self) -> bool:
        return self.kind.get("can_retry", True)

    def _switch(self, key: str, label: str, value: bool) -> None:
        self.widgets[key] = tag(ui.checkbox(label, value=value).props("dense"), f"opt-{key}")

    def _add(self, f: Field, prefix: str, values: Mapping[str, Any], marker: str | None = None) -> None:
        self.widgets[prefix + f.name] = tag(self._widget(f, values.get(f.name, MISSING)), marker or f"opt-{f.name}")
        if f.description:
            tag(ui.label(f.description).classes("gf-muted text-caption"), f"help-{marker or f.name}")

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
        elif f.type in ("string", "text"):
            text = "" if current is None else str(current)
            widget = ui.textarea(label, value=text).props("autogrow") if f.type == "text" else ui.input(label,
                                                                                                      value=text)
        elif f.name == "routes" and self.kind.get("kind") == "router":
            return RoutesTable(label, current)
        elif f.type == "words":
            widget = ui.input(label + " (comma separated)", value=", ".join(current or ()))
        else:
            text = _json(value) if present else ("" if f.default in (MISSING, None) else _json(f.default))
            widget = ui.textarea(label + " (JSON)", value=text).props("autogrow")
        return widget.classes("full-width").props("dense")

    def parse(self) -> tuple[dict[str, Any], dict[str, str]]:
        raw = {name: getattr(w, "value", None) for name, w in self.widgets.items()}
        return read_node(self.node, self.kind.get("config_schema") or {}, raw, can_retry=self.can_retry)

    def pending(self) -> bool:
        """Values typed and not applied (or not valid): nothing is shown. Compared as node specs,
        so an option written out at its default is no change."""
        node, errors = self.parse()
        if errors:
            return True
        try:
            return NodeSpec.model_validate(node) != NodeSpec.model_validate(self.node)
        except ValidationError:
            return node != self.node

    def read(self) -> tuple[dict[str, Any] | None, dict[str, str]]:
        """The node with the form's values, or None and the problems by field, each shown at
        its field (a JSON field's message right under it) and listed above the fields."""
        node, errors = self.parse()
        self.errors.clear()
        with self.errors:
            for name, message in errors.items():
                ui.label(f"{name.removeprefix('cfg.')}: {message}").classes("gf-problem")
        for name, widget in self.widgets.items():
            message = errors.get(name)
            if message is None and not widget.props.get("error"):
                continue
            show_error(widget, message)
        first = next((self.widgets[name] for name in self.widgets if name in errors), None)
        if first is not None:  # the field may be below the visible part of the panel
            ui.run_javascript(f"getHtmlElement({first.id})?.scrollIntoView({{block: 'center'}})")
        return (None, errors) if errors else (node, {})


def show_error(widget: ui.element, message: str | None) -> None:
    """A field's problem under the field itself (None clears it)."""
    if isinstance(widget, ValidationElement):
        widget.error = message
    elif isinstance(widget, RoutesTable):  # a composite field shows its own
        widget.show_error(message)
    else:
        widget.props["error"] = message is not None
        widget.props["error-message"] = message or ""
    widget.update()


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)

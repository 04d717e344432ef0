"""A router's routes as a table (port name, expression), each expression checked as it is typed
with the safe evaluator's parser (``graphflow.expressions``; nothing is evaluated).

``value`` is the routes as JSON text, as the plain JSON field it replaces gives, so the
settings form reads it (and refuses a bad one) the same way.
"""

from __future__ import annotations

import json
import re
from typing import Any

from nicegui import ui

from graphflow.expressions import ExpressionError, parse_expression

from .frame import tag

PORT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def expression_problem(text: str) -> str | None:
    """Why ``text`` is not an expression the router can use, or None."""
    if not text.strip():
        return "an expression is needed (e.g. value == \"refund\")"
    try:
        parse_expression(text)
    except ExpressionError as exc:
        return str(exc)
    return None


def port_problem(name: str, others: list[str]) -> str | None:
    if not PORT.fullmatch(name):
        return "a letter or _, then letters, digits or _"
    if others.count(name) > 1:
        return f"port {name!r} is used twice"
    return None


class RoutesTable(ui.column):
    def __init__(self, label: str, routes: Any) -> None:
        super().__init__()
        self.classes("full-width").style("gap: 4px")
        self.routes: list[tuple[ui.input, ui.input]] = []
        with self:
            ui.label(label).classes("gf-muted")
            self.body = ui.column().classes("full-width").style("gap: 2px")
            with ui.row().classes("items-center q-gutter-sm"):
                tag(ui.button("Add route", icon="add", on_click=lambda: self.add_route("", ""))
                    .props("flat dense size=sm"), "add-route")
            self.message = tag(ui.label("").classes("gf-problem"), "routes-error")
        for route in routes if isinstance(routes, list) else []:
            route = route if isinstance(route, dict) else {}
            self.add_route(str(route.get("port", "")), str(route.get("when", "")))

    def add_route(self, port: str, when: str) -> None:
        with self.body, tag(ui.row().classes("full-width items-start no-wrap"), "route-row"):
            name = tag(ui.input("Port", value=port, validation=lambda v: port_problem(str(v or ""), self.ports()))
                       .props("dense").style("width: 110px"), "route-port")
            expression = tag(ui.input("When", value=when, validation=lambda v: expression_problem(str(v or "")))
                             .props("dense").classes("col"), "route-when")
            row = (name, expression)
            ui.button(icon="close", on_click=lambda: self.remove_route(row)).props("flat dense size=sm") \
                .tooltip("Remove this route")
        name.on_value_change(lambda: self.check_routes())  # a port's twin is checked again too
        self.routes.append(row)
        self.check_routes()

    def remove_route(self, row: tuple[ui.input, ui.input]) -> None:
        self.routes.remove(row)
        row[0].parent_slot.parent.delete()  # type: ignore[union-attr]
        self.check_routes()

    def ports(self) -> list[str]:
        return [str(name.value or "") for name, _ in self.routes]

    def check_routes(self) -> None:
        """Each field's problem at the field (NiceGUI's validation: again at each change)."""
        for name, expression in self.routes:
            name.validate()
            expression.validate()

    @property
    def value(self) -> str:
        return json.dumps([{"port": str(n.value or ""), "when": str(w.value or "")} for n, w in self.routes])

    def show_error(self, message: str | None) -> None:
        self.message.text = message or ""
        self.props["error"] = message is not None  # so the form knows there is one to clear

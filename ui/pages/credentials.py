"""The credentials settings page (``/settings/credentials``): names graphs and providers use.

A value can be set or replaced, never read back: the list shows names and dates only, the
value field is a password field emptied after each save, and nothing here logs or notifies
a value. Storage encrypts it (``graphflow.storage.credentials``).
"""

from __future__ import annotations

from nicegui import ui

from graphflow.formatting import when
from graphflow.ports import CredentialInfo
from graphflow.secrets import check_credential_name

from ..context import AppContext
from .frame import confirm, frame, tag

ROUTE = "/settings/credentials"


def register(ctx: AppContext) -> None:
    workspace = ctx.workspace

    @ui.page(ROUTE)
    async def credentials_page() -> None:
        with frame("Credentials"):
            ui.label("Named API keys and tokens. Graphs and providers name a credential; its value is stored "
                     "encrypted and never shown again.").classes("gf-muted")
            with ui.row().classes("items-end q-gutter-sm"):
                name = ui.input("Name").props("dense").mark("credential-name")
                value = ui.input("Value", password=True).props('dense autocomplete="new-password"') \
                    .mark("credential-value")
                ui.button("Save", icon="lock", on_click=lambda: save()).mark("credential-save")
            message = tag(ui.label("").classes("gf-problem"), "credential-problem")
            listing = ui.column().classes("full-width").style("gap: 0")

        async def reload() -> None:
            show(await workspace.credentials())

        def show(rows: list[CredentialInfo]) -> None:
            listing.clear()
            with listing:
                if not rows:
                    ui.label("No stored credentials (GRAPHFLOW_SECRET_<NAME> variables still work).") \
                        .classes("gf-muted")
                for row in rows:
                    with tag(ui.row().classes("items-center full-width q-py-xs"), "credential-row", name=row.name):
                        ui.label(row.name).style("font-weight: 600; min-width: 200px")
                        ui.label(f"updated {when(row.updated_at)}").classes("gf-muted")
                        ui.space()
                        ui.button("Delete", icon="delete", on_click=lambda r=row: delete(r)).props("flat dense") \
                            .mark(f"delete-{row.name}")

        async def save() -> None:
            text = (name.value or "").strip()
            secret = value.value or ""
            value.set_value("")  # never kept in the page after a save attempt
            try:
                check_credential_name(text)
                if not secret:
                    raise ValueError(f"credential {text!r}: the value is empty")
                info = await workspace.set_credential(text, secret)
            except ValueError as exc:
                message.set_text(str(exc))
                return
            message.set_text("")
            name.set_value("")
            replaced = info.updated_at != info.created_at
            ui.notify(f"{'replaced' if replaced else 'stored'} credential {text}", type="positive")
            await reload()

        async def delete(row: CredentialInfo) -> None:
            if await confirm(f"Delete credential {row.name}? Graphs that use it will fail until it is set again."):
                await workspace.delete_credential(row.name)
                ui.notify(f"deleted credential {row.name}")
                await reload()

        await reload()

"""The credentials settings page with NiceGUI's simulated user: set, replace, list, delete; a
value is never shown back."""

from __future__ import annotations

import pytest
from nicegui import ui

pytestmark = pytest.mark.anyio
VALUE = "tok-page-31c7d5e0"


async def test_set_list_and_delete_without_showing_the_value(user, ctx):
    await user.open("/settings/credentials")
    await user.should_see("No stored credentials")
    user.find("credential-name").type("crm_api")
    user.find("credential-value").type(VALUE)
    user.find("credential-save").click()
    await user.should_see("stored credential crm_api")
    await user.should_see("crm_api")
    assert [c.name for c in await ctx.workspace.credentials()] == ["crm_api"]
    value_field = next(iter(user.find("credential-value").elements))
    assert value_field.value == ""  # emptied after the save
    texts = [getattr(e, "text", "") for e in user.find(ui.label).elements]
    assert all(VALUE not in t for t in texts)
    source = await ctx.workspace.store.secret_source(None)
    assert source.get("crm_api") == VALUE

    user.find("credential-name").type("bad name")
    user.find("credential-value").type("x")
    user.find("credential-save").click()
    await user.should_see("credential name 'bad name'")

    user.find(marker="delete-crm_api").click()
    await user.should_see(marker="dialog-ok")
    user.find(marker="dialog-ok").click()
    await user.should_see("deleted credential crm_api")
    assert await ctx.workspace.credentials() == []


async def test_the_header_links_to_the_page(user):
    await user.open("/")
    user.find("Credentials").click()
    await user.should_see("Named API keys and tokens")

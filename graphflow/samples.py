"""Sample graphs reaching every database, not only a new one, without touching a user's edit.

For each sample offered, the store keeps what was last added from it (kv namespace
``samples``: the sample's digest, the graph it went to and that graph's version then):

* never offered: added as a graph of its own id when that id is free, else (a graph of
  the user's has the id and is not the same graph) under a new id;
* offered before, unchanged: nothing;
* changed since (a newer release): a new version of the graph it went to when that graph's
  latest version is still the one added (the user never saved over it), else a new graph;
* the graph it went to was deleted: nothing (the user removed it; it stays removed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Protocol

from graphflow.errors import NotFound
from graphflow.model import GraphSpec
from graphflow.naming import unique_id
from graphflow.ports import GraphStore, GraphVersion, KeyValueStore

SAMPLES = "samples"


class SampleStore(GraphStore, KeyValueStore, Protocol):
    """What offering samples needs (every ``Store`` has it)."""


def digest(spec: GraphSpec) -> str:
    return hashlib.sha256(spec.to_json(indent=None).encode()).hexdigest()


async def offer_samples(store: SampleStore, samples: Iterable[GraphSpec]) -> list[GraphVersion]:
    """Add each sample that is new or changed since last offered; the versions stored."""
    added: list[GraphVersion] = []
    for spec in samples:
        stored = await _offer(store, spec)
        if stored is not None:
            await store.put(SAMPLES, spec.id, {"digest": digest(spec), "graph_id": stored.graph_id,
                                               "version": stored.version})
            added.append(stored)
    return added


async def _offer(store: SampleStore, spec: GraphSpec) -> GraphVersion | None:
    record = await store.get(SAMPLES, spec.id)
    if record is not None:
        if record["digest"] == digest(spec):
            return None
        try:
            latest = await store.get_graph(record["graph_id"])
        except NotFound:
            return None  # deleted by the user
        if latest.version == record["version"]:  # never saved over: the sample's new release replaces it
            if latest.graph_id != spec.id:
                spec = spec.model_copy(update={"id": latest.graph_id, "name": latest.spec.name})
            return latest if latest.spec == spec else await store.save_graph(spec)
        return await _as_new_graph(store, spec)
    try:
        latest = await store.get_graph(spec.id)
    except NotFound:
        return await store.save_graph(spec)
    if latest.spec == spec:  # added by an earlier release, before samples were recorded
        return latest
    return await _as_new_graph(store, spec)


async def _as_new_graph(store: SampleStore, spec: GraphSpec) -> GraphVersion:
    graph_id = unique_id(f"{spec.id}_sample", [g.graph_id for g in await store.list_graphs()])
    name = f"{spec.name or spec.id} (new sample)"
    return await store.save_graph(spec.model_copy(update={"id": graph_id, "name": name}))

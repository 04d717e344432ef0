"""Model providers: where an LLM node sends its calls, which credential it uses, what a token costs.

A provider is an OpenAI-compatible chat-completions server (OpenAI, Ollama, vLLM, llama.cpp,
LM Studio, OpenRouter...). The defaults ship as data (``graphflow/data/providers.json``); the
user's providers file (``$GRAPHFLOW_PROVIDERS``, else ``$XDG_CONFIG_HOME/graphflow/providers.json``)
adds providers or replaces them by name, and a provider's prices merge model by model.
A graph names a provider and a model, never a URL or a key.

Pointing the ``default`` provider elsewhere takes no file: ``GRAPHFLOW_LLM_BASE_URL`` (then no
credential unless ``GRAPHFLOW_LLM_SECRET`` names one) and ``GRAPHFLOW_LLM_MODEL``. They point
the ``sample`` provider there too: without them it is a scripted model in the process
(``scripted://support``, ``scripted_model.py``), so the agent sample runs with no server.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from graphflow.errors import GraphflowError

__all__ = ["ModelPrice", "Provider", "ProviderError", "RateLimits", "load_providers", "providers_path"]

PROVIDERS_ENV = "GRAPHFLOW_PROVIDERS"


class ProviderError(GraphflowError):
    """A providers file that cannot be read, or a provider that does not exist. Not retried."""

    retryable = False


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class ModelPrice(_Data):
    input: float = Field(default=0.0, ge=0)
    """USD per 1M prompt tokens."""
    output: float = Field(default=0.0, ge=0)
    """USD per 1M completion tokens."""


class RateLimits(_Data):
    """Shared by every node and run in the process that calls this provider."""

    rpm: int | None = Field(default=None, ge=1)
    """Requests started in any 60 seconds."""
    tpm: int | None = Field(default=None, ge=1)
    """Tokens (prompt + completion) in any 60 seconds."""
    max_concurrent: int | None = Field(default=None, ge=1)
    """Calls in flight at once."""


class Provider(_Data):
    name: str = ""
    base_url: str = Field(min_length=1)
    secret: str | None = None
    """Name of the credential holding the API key (``ctx.secret``); None: the server needs none."""
    default_model: str = ""
    """The model of nodes that name none."""
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    limits: RateLimits = RateLimits()
    timeout: float = Field(default=120.0, gt=0)
    """Seconds the HTTP client waits for a reply."""

    def price(self, model: str) -> ModelPrice | None:
        return self.prices.get(model)

    def cost(self, model: str, tokens_in: int, tokens_out: int) -> float:
        """USD for one call from the price table; 0 for a model with no price (a local server)."""
        price = self.prices.get(model)
        if price is None:
            return 0.0
        return (tokens_in * price.input + tokens_out * price.output) / 1_000_000


class _File(_Data):
    model_config = ConfigDict(frozen=True, extra="ignore")  # "_comment" and future keys
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)


def providers_path(environ: Mapping[str, str] | None = None) -> Path:
    """The user's providers file (it need not exist)."""
    env = os.environ if environ is None else environ
    if env.get(PROVIDERS_ENV):
        return Path(env[PROVIDERS_ENV])
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "graphflow" / "providers.json"


def default_providers_text() -> str:
    return resources.files("graphflow").joinpath("data/providers.json").read_text(encoding="utf-8")


def _parse(text: str, where: str) -> dict[str, dict[str, Any]]:
    try:
        return _File.model_validate_json(text).providers
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ProviderError(f"{where}: {loc}: {first['msg']}") from None


_cache: dict[tuple[str, float], dict[str, Provider]] = {}


def load_providers(environ: Mapping[str, str] | None = None) -> dict[str, Provider]:
    """Defaults merged with the user's file (re-read when it changes) and the env overrides."""
    env = os.environ if environ is None else environ
    path = providers_path(env)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = -1.0
    overrides = tuple(env.get(f"GRAPHFLOW_LLM_{k}", "") for k in ("BASE_URL", "MODEL", "SECRET"))
    key = (f"{path}|{overrides}", mtime)
    if key not in _cache:
        raw = _parse(default_providers_text(), "graphflow/data/providers.json")
        if mtime >= 0:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ProviderError(f"cannot read providers file {path}: {exc.strerror}") from None
            for name, entry in _parse(text, str(path)).items():
                if name in raw and isinstance(entry, dict):
                    prices = {**raw[name].get("prices", {}), **entry.get("prices", {})}
                    raw[name] = {**raw[name], **entry, "prices": prices}
                else:
                    raw[name] = entry
        base_url, model, secret = overrides
        for name in ("default", "sample"):  # the samples' scripted model gives way to a configured server
            if base_url:
                raw[name] = {**raw.get(name, {}), "base_url": base_url, "secret": secret or None}
            if model:
                raw[name] = {**raw.get(name, {}), "default_model": model}
        providers: dict[str, Provider] = {}
        for name, entry in raw.items():
            try:
                providers[name] = Provider.model_validate({**entry, "name": name})
            except ValidationError as exc:
                first = exc.errors()[0]
                loc = ".".join(str(p) for p in first["loc"])
                raise ProviderError(f"provider {name!r} ({path}): {loc}: {first['msg']}") from None
        _cache.clear()
        _cache[key] = providers
    return _cache[key]


def get_provider(name: str, environ: Mapping[str, str] | None = None) -> Provider:
    providers = load_providers(environ)
    if name not in providers:
        raise ProviderError(f"unknown provider {name!r} (known: {', '.join(sorted(providers))}; add it to "
                            f"{providers_path(environ)})")
    return providers[name]


def write_user_file(path: Path) -> None:
    """Start the user's providers file from the shipped defaults (refuses to overwrite)."""
    if path.exists():
        raise ProviderError(f"{path} exists already: edit it")
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(default_providers_text())
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

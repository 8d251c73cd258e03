"""Settings of the service: the release API, the acknowledgement API and the console."""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from spyagency.settings.base import CONFIG
from spyagency.settings.tokens import parse_token_spec


class ServiceSettings(BaseSettings):
    """Addresses, who may do what, and how the service protects itself under load."""

    model_config = CONFIG

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    release_port: int = Field(8001, description="`spyagency serve-release`: Tier0's own listener")
    auth_mode: Literal["token", "proxy"] = Field("token", description="token (bearer) or proxy (SSO header)")
    tokens: str = Field("", description="token=user:role1|role2 entries, comma separated")
    proxy_user_header: str = "X-Remote-User"
    proxy_roles_header: str = "X-Remote-Roles"
    secret_key: str = Field("change-me", description="signs CSRF tokens of dashboard forms")
    trusted_proxies: str = Field("", description="proxy mode: addresses or networks (comma separated) whose "
                                                 "X-Remote-User/X-Remote-Roles headers are believed")
    proxy_secret: str | None = Field(None, description="proxy mode: or a secret the proxy sends in "
                                                       "X-SpyAgency-Proxy-Secret")
    session_hours: float = Field(8.0, gt=0, description="a dashboard login lasts this long")
    cookie_secure: bool = Field(False, description="mark the login cookie Secure (set behind TLS)")
    api_max_concurrency: int = Field(4096, gt=0, description="sockets open at once per listener; beyond it the "
                                                             "one waiting longest for its request is closed")
    api_request_deadline_s: float = Field(10.0, gt=0, description="a request (head and body) must arrive whole "
                                                                  "this long after the connection can send it")
    anonymous_page_cache_s: float = Field(2.0, ge=0, description="anonymous readers may see pages this old")
    api_page_slots: int = Field(2, gt=0, description="pages, lists and writes served at once (the release "
                                                    "API is never queued behind them)")
    dashboard_refresh_s: float = Field(5.0, gt=0, description="how often dashboard pages refresh themselves")
    dashboard_url: str | None = Field(None, description="public dashboard address, for links in warnings")
    dqm_gui_url: str | None = Field(None, description="DQM GUI for dashboard links; default dqm_url")
    allowed_hosts: str | None = Field(
        None, description="Host headers the service answers (comma separated; * for any); default: the bind "
                          "address, localhost and the host of dashboard_url. Others get 400 (DNS rebinding)")

    def hosts_allowed(self) -> list[str]:
        """The Host headers the service answers."""
        if self.allowed_hosts is not None:
            return [h.strip() for h in self.allowed_hosts.split(",") if h.strip()]
        hosts = [self.api_host, "localhost", "127.0.0.1", "::1", "[::1]"]
        if self.dashboard_url:
            public = urlsplit(self.dashboard_url).hostname
            if public:
                hosts.append(public)
        return hosts

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_shape(cls, spec: str) -> str:
        for part in filter(None, (p.strip() for p in spec.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an address or network (e.g. 10.0.0.5 or 10.1.0.0/16)") from None
        return spec

    @field_validator("tokens")
    @classmethod
    def _tokens_shape(cls, spec: str) -> str:
        parse_token_spec(spec)  # raises with what would be valid
        return spec

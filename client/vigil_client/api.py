"""A small client for Vigil's REST API (/api/v1/)."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

from vigil_client.transport import DeliveryError, RejectedError, Transport

JsonDict = dict[str, Any]
MAX_PAGES = 1000  # Guards against a server whose `next` links loop.


class ApiError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _error_message(exc: RejectedError) -> str:
    """The server's own explanation where it gives one (DRF: {"detail": ...} or field errors)."""
    try:
        data = json.loads(exc.body)
    except ValueError:
        return str(exc)
    if isinstance(data, dict):
        if "detail" in data and len(data) == 1:
            return f"HTTP {exc.status}: {data['detail']}"
        parts = []
        for key, value in data.items():
            text = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts.append(f"{key}: {text}")
        return f"HTTP {exc.status}: " + ", ".join(parts)
    return str(exc)


class ApiClient:
    def __init__(self, server: str, api_key: str, transport: Transport) -> None:
        self.server = server.rstrip("/")
        self.api_key = api_key
        self.transport = transport
        self.base = f"{self.server}/api/v1/"

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        url = path if "://" in path else self.base + path.lstrip("/")
        if params:
            query = {k: v for k, v in params.items() if v is not None and v != ""}
            if query:
                url += ("&" if "?" in url else "?") + urllib.parse.urlencode(query)
        return url

    def _follow(self, link: str) -> str:
        """A `next` link re-anchored on our server URL: behind a TLS-terminating proxy the
        server may build it with the wrong scheme or host."""
        ours = urllib.parse.urlsplit(self.server)
        theirs = urllib.parse.urlsplit(link)
        return urllib.parse.urlunsplit((ours.scheme, ours.netloc, theirs.path, theirs.query, ""))

    def request(
        self, method: str, path: str, payload: Any = None, params: Mapping[str, str] | None = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        url = self.url(path, params)
        try:
            response = self.transport.request(method, url, body=body, headers=headers)
        except RejectedError as exc:
            raise ApiError(f"{method} {url}: {_error_message(exc)}", exc.status) from exc
        except DeliveryError as exc:
            raise ApiError(
                f"{method} {url}: no answer within {self.transport.budget.total:g} s: {exc}"
            ) from exc
        if not response.body.strip():
            return None
        try:
            return json.loads(response.body)
        except ValueError as exc:
            raise ApiError(f"{method} {url}: the answer is not JSON: {response.text()[:200]!r}") from exc

    def iter_pages(self, path: str, params: Mapping[str, str] | None = None) -> Iterator[JsonDict]:
        """Every item of a paginated list, page by page, following `next` links."""
        return self.paged(path, params)[1]

    def paged(self, path: str, params: Mapping[str, str] | None = None) -> tuple[int, Iterator[JsonDict]]:
        """(how many items the list holds, every item page by page): the first page is read now."""
        url = self.url(path, params)
        first = self.request("GET", url)
        if isinstance(first, list):  # An unpaginated list is fine too.
            return len(first), iter(first)
        if not isinstance(first, dict) or "results" not in first:
            raise ApiError(f"GET {url}: expected a paginated list")
        count = first.get("count")
        return (count if isinstance(count, int) else len(first["results"])), self._pages(url, first)

    def _pages(self, url: str, page: JsonDict) -> Iterator[JsonDict]:
        seen = {url}
        while True:
            yield from page["results"]
            link = self._follow(page["next"]) if page.get("next") else None
            if link is None or link in seen or len(seen) >= MAX_PAGES:
                return
            seen.add(link)
            page = self.request("GET", link)
            if not isinstance(page, dict) or "results" not in page:
                raise ApiError(f"GET {link}: expected a paginated list")

    def list_all(self, path: str, params: Mapping[str, str] | None = None) -> list[JsonDict]:
        return list(self.iter_pages(path, params))

    # ---- resources --------------------------------------------------------------------

    def monitors(self, **filters: str) -> list[JsonDict]:
        return self.list_all("monitors/", filters)

    def monitor_by_slug(self, slug: str) -> JsonDict | None:
        for item in self.iter_pages("monitors/", {"q": slug}):
            if item.get("slug") == slug:
                return item
        # `q` may not search slugs on every server version: look through all of them.
        for item in self.iter_pages("monitors/"):
            if item.get("slug") == slug:
                return item
        return None

    def require_monitor(self, slug: str) -> JsonDict:
        found = self.monitor_by_slug(slug)
        if found is None:
            raise ApiError(f"no monitor with slug {slug!r}", 404)
        return found

    def create_monitor(self, payload: JsonDict) -> JsonDict:
        result: JsonDict = self.request("POST", "monitors/", payload)
        return result

    def update_monitor(self, monitor_id: Any, payload: JsonDict) -> JsonDict:
        result: JsonDict = self.request("PATCH", f"monitors/{monitor_id}/", payload)
        return result

    def delete_monitor(self, monitor_id: Any) -> None:
        self.request("DELETE", f"monitors/{monitor_id}/")

    def runs(self, monitor_id: Any) -> Iterator[JsonDict]:
        """Runs, newest first, fetched lazily page by page."""
        return self.iter_pages(f"monitors/{monitor_id}/runs/")

    def run_feed(self, **filters: str) -> tuple[int, Iterator[JsonDict]]:
        """The project's runs across monitors, newest first: `runs/` with status, since, monitor, tag."""
        return self.paged("runs/", filters)

    def last_failed_run(self, monitor_id: Any) -> JsonDict | None:
        """The monitor's newest failed run; servers without `runs/` are searched run by run."""
        try:
            _, failed = self.run_feed(monitor=str(monitor_id), status="failed")
            return next(failed, None)
        except ApiError as exc:
            if exc.status != 404:
                raise
        return next((run for run in self.runs(monitor_id) if run.get("status") == "failed"), None)

    def stats(self, monitor_id: Any) -> JsonDict:
        result: JsonDict = self.request("GET", f"monitors/{monitor_id}/stats/")
        return result

    def run_now(self, monitor_id: Any) -> JsonDict:
        """Run now: `{"id", "rid", "status": "pending", …}`; 409 when the monitor has no trigger."""
        result: JsonDict = self.request("POST", f"monitors/{monitor_id}/run/")
        return result

    def claim_run_request(self, *, wait: float, slugs: list[str]) -> JsonDict | None:
        """For `vigil agent`: the next Run now request for one of `slugs`, or None after `wait` seconds."""
        result: JsonDict | None = self.request(
            "GET", "agent/claim/", params={"wait": f"{wait:g}", "slugs": ",".join(slugs)}
        )
        return result

    def channels(self) -> list[JsonDict]:
        return self.list_all("channels/")

    def project(self) -> JsonDict:
        result: JsonDict = self.request("GET", "project/")
        return result

    def upsert_monitor(self, slug: str, payload: JsonDict) -> tuple[str, JsonDict]:
        """('created' | 'updated', monitor): PATCH when the slug exists, else POST."""
        existing = self.monitor_by_slug(slug)
        if existing is None:
            return "created", self.create_monitor({"slug": slug, **payload})
        return "updated", self.update_monitor(existing["id"], payload)

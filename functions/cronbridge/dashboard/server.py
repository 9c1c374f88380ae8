"""The dashboard's HTTP server: the standard library's threading server, Jinja2 pages.

Every page and action goes through :mod:`cronbridge.ops`, as the CLI does. Actions are
plain HTML form posts answered with a redirect (they work without JavaScript); htmx polls
the live fragments every :data:`REFRESH_SECONDS`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from cronbridge.core.errors import UnknownJobError
from cronbridge.core.slots import parse_time
from cronbridge.ops import audit as ops_audit
from cronbridge.ops import dlq as ops_dlq
from cronbridge.ops import jobs as ops_jobs
from cronbridge.ops import runs as ops_runs
from cronbridge.ops.backend import Backend
from cronbridge.ops.backfill import enqueue_backfill, plan_backfill
from cronbridge.ops.errors import InvalidRequest, describe_error

REFRESH_SECONDS = 2
WINDOWS_HOURS = (1, 6, 24, 72)
DEFAULT_WINDOW_HOURS = 6
HISTORY_ROWS = 30
ACTOR = "dashboard"
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


class Dashboard:
    """Renders the pages of one backend. Calls are serialised: the backend's clients are
    made on first use and one operator's clicks need no parallelism.

    Args:
        backend: the target (a :class:`~cronbridge.cli.target.Target`).
        clock: the time now, aware UTC.
    """

    def __init__(self, backend: Backend,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        from jinja2 import Environment, PackageLoader, select_autoescape

        self.backend = backend
        self.clock = clock
        self.lock = threading.Lock()
        self.env = Environment(loader=PackageLoader("cronbridge.dashboard", "templates"),
                               autoescape=select_autoescape(["html"]))
        self.env.filters["q"] = lambda text: quote(str(text), safe="")
        self.env.filters["when"] = lambda iso: (iso or "-").replace("T", " ").rstrip("Z")

    def render(self, template: str, **values: Any) -> str:
        return self.env.get_template(template).render(
            where=self.backend.describe(), refresh=REFRESH_SECONDS, **values)

    # -- pages ----------------------------------------------------------------------------

    def jobs_page(self, fragment: bool, flash: str | None) -> str:
        jobs = ops_jobs.list_jobs(self.backend, self.clock())
        return self.render("_jobs.html" if fragment else "jobs.html", jobs=jobs, flash=flash)

    def job_page(self, job: str, hours: int, fragment: bool, flash: str | None) -> str:
        now = self.clock()
        summary = ops_jobs.job_summary(self.backend, self.backend.job(job), now)
        audit = (ops_audit.audit(self.backend, job, since=now - timedelta(hours=hours), now=now)
                 if summary["deployed"] else None)
        values = dict(job=summary, audit=audit, hours=hours, windows=WINDOWS_HOURS, flash=flash,
                      runs=ops_runs.history(self.backend, job, now=now, limit=HISTORY_ROWS)
                      if summary["deployed"] else [],
                      letters=ops_dlq.dead_letters(self.backend, job, now=now)
                      if summary["deployed"] else [])
        return self.render("_job_live.html" if fragment else "job.html", **values)

    def run_page(self, job: str, slot: str) -> str:
        run = ops_runs.run_detail(self.backend, job, slot, now=self.clock())
        return self.render("run.html", run=run, job=self.backend.job(job).job, slot=slot)

    # -- actions: each returns the flash message shown after the redirect -----------------

    def act(self, job: str, action: str, form: dict[str, str]) -> str:
        now = self.clock()
        if action == "trigger":
            result = ops_jobs.trigger(self.backend, job, now=now, slot=form.get("slot") or None,
                                      payload=ops_jobs.parse_payload(form.get("payload")))
            return f"triggered {result['job']}: slot {result['slot']}"
        if action in ("pause", "resume"):
            result = ops_jobs.set_enabled(self.backend, job, enabled=action == "resume",
                                          by=ACTOR, now=now, reason=form.get("reason") or None)
            return f"{result['job']}: {result['state']}" + (
                "" if result["changed"] else " (already)")
        if action == "backfill":
            since, until = _instant(form, "since"), _instant(form, "until")
            plan = plan_backfill(self.backend, job, since=since, until=until, now=now)
            sent = enqueue_backfill(self.backend, job, plan["slots"])
            failed = f", {len(sent['failed'])} failed" if sent["failed"] else ""
            return (f"backfill {job}: {plan['expected']} due, {plan['with_run']} had a run, "
                    f"enqueued {sent['enqueued']}{failed}")
        if action == "redrive":
            result = ops_dlq.redrive(self.backend, job, now=now)
            failed = result["failed"]
            return (f"redrive {job}: moved {len(result['moved'])}, left out "
                    f"{len(result['left_out'])}" + (f"; stopped at {failed['slot']}: "
                                                    f"{failed['cause']}" if failed else ""))
        raise InvalidRequest(f"no such action {action!r}")


def _instant(form: dict[str, str], name: str) -> datetime:
    text = (form.get(name) or "").strip()
    if len(text) == 16:  # an <input type="datetime-local"> value, read as UTC
        text += ":00Z"
    try:
        return parse_time(text)
    except Exception:  # noqa: BLE001 - any unreadable value is the operator's to fix
        raise InvalidRequest(f"{name}: {text!r} is not an ISO-8601 instant (UTC)") from None


class Handler(BaseHTTPRequestHandler):
    """Routes: ``/`` jobs, ``/jobs/<job>`` timeline, runs and DLQ (``?hours=``),
    ``/jobs/<job>/runs/<slot>`` one run, ``POST /jobs/<job>/<action>``, ``/static/...``;
    ``/fragments/...`` the live parts of the first two."""

    dashboard: Dashboard
    server_version = "cronbridge-dashboard"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: htmx polls every few seconds."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [unquote(p) for p in url.path.strip("/").split("/") if p]
        fragment = bool(parts) and parts[0] == "fragments"
        if fragment:
            parts = parts[1:]
        flash = query.get("flash")
        if parts[:1] == ["static"] and len(parts) == 2:
            return self._static(parts[1])
        self._answer(lambda: self._page(parts, query, fragment, flash))

    def _page(self, parts: list[str], query: dict[str, str], fragment: bool,
              flash: str | None) -> str | None:
        if parts in ([], ["jobs"]):
            return self.dashboard.jobs_page(fragment, flash)
        if len(parts) == 2 and parts[0] == "jobs":
            hours = int(query.get("hours") or DEFAULT_WINDOW_HOURS)
            if hours not in WINDOWS_HOURS:
                raise InvalidRequest(f"hours must be one of {WINDOWS_HOURS}")
            return self.dashboard.job_page(parts[1], hours, fragment, flash)
        if len(parts) == 4 and parts[0] == "jobs" and parts[2] == "runs":
            return self.dashboard.run_page(parts[1], parts[3])
        return None

    def do_POST(self) -> None:  # noqa: N802
        parts = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/") if p]
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if len(parts) != 3 or parts[0] != "jobs":
            return self._send(HTTPStatus.NOT_FOUND, "text/plain", "not found")
        job, action = parts[1], parts[2]
        try:
            with self.dashboard.lock:
                flash = self.dashboard.act(job, action, form)
        except (InvalidRequest, UnknownJobError) as exc:
            flash = f"not done: {exc}"
        except Exception as exc:  # noqa: BLE001 - shown to the operator, not a traceback
            flash = f"failed: {self._describe(exc)}"
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", f"/jobs/{quote(job, safe='')}?"
                                     + urlencode({"flash": flash}))
        self.end_headers()

    def _answer(self, page: Callable[[], str | None]) -> None:
        try:
            with self.dashboard.lock:
                body = page()
        except (InvalidRequest, UnknownJobError, ValueError) as exc:
            return self._send(HTTPStatus.BAD_REQUEST, "text/plain", f"bad request: {exc}")
        except Exception as exc:  # noqa: BLE001
            return self._send(HTTPStatus.BAD_GATEWAY, "text/plain", self._describe(exc))
        if body is None:
            return self._send(HTTPStatus.NOT_FOUND, "text/plain", "not found")
        self._send(HTTPStatus.OK, "text/html; charset=utf-8", body)

    def _describe(self, exc: BaseException) -> str:
        backend = self.dashboard.backend
        return (describe_error(exc, backend.describe(), backend.plan.table_name)
                or f"{type(exc).__name__}: {exc}")

    def _static(self, name: str) -> None:
        suffix = name[name.rfind("."):]
        item = resources.files("cronbridge.dashboard").joinpath("static", name)
        if suffix not in STATIC_TYPES or not item.is_file():
            return self._send(HTTPStatus.NOT_FOUND, "text/plain", "not found")
        self._send(HTTPStatus.OK, STATIC_TYPES[suffix], item.read_bytes(),
                   cache="max-age=3600")

    def _send(self, status: HTTPStatus, content_type: str, body: str | bytes,
              cache: str = "no-store") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", cache)
        self.end_headers()
        self.wfile.write(data)


def start(backend: Backend, host: str, port: int) -> ThreadingHTTPServer:
    """Serve the dashboard of ``backend`` on ``host:port`` in a daemon thread.

    Returns the server (``shutdown()`` stops it).

    Raises:
        OSError: the port is taken.
        ModuleNotFoundError: Jinja2 is missing (``pip install 'cronbridge[dashboard]'``).
    """
    dashboard = Dashboard(backend)
    handler = type("BoundHandler", (Handler,), {"dashboard": dashboard})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="dashboard", daemon=True).start()
    return server

"""Running the app under gunicorn: N threads; one process for the embedded store, N for a remote one."""

from __future__ import annotations

import sys
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from service.config import Settings
from service.errors import CareerKGError, ValidationFailed
from service.validation import Report

WORKER_BOOT_ERROR = 3  # gunicorn stops the master when a worker exits with this status


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        options: dict[str, Any] = {
            "bind": f"{self.settings.host}:{self.settings.port}",
            "workers": self.settings.workers,
            "worker_class": "gthread",
            "threads": self.settings.threads,
            "timeout": max(30, int(self.settings.query_timeout * 3)),
            "graceful_timeout": 10,
            "accesslog": "-",
            "errorlog": "-",
            "loglevel": "info",
            "proc_name": "careerkg",
            # Long SPARQL GET queries are normal; the app bounds URLs by CAREERKG_MAX_BODY (414).
            "limit_request_line": 0,
        }
        # gunicorn 23+ opens a control socket in the home folder; several servers would share it.
        options["control_socket_disable"] = True
        for key, value in options.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> Flask:
        from service.app import create_app

        try:
            return create_app(self.settings)
        except ValidationFailed as exc:
            report = exc.report
            if isinstance(report, Report):
                print(report.to_text(), file=sys.stderr)
            print(
                f"careerkg serve: the data does not conform to the shapes: {exc.message}", file=sys.stderr, flush=True
            )
            sys.exit(WORKER_BOOT_ERROR)
        except CareerKGError as exc:
            print(f"careerkg serve: error: {exc.message}", file=sys.stderr, flush=True)
            sys.exit(WORKER_BOOT_ERROR)


def serve(settings: Settings) -> int:
    """Serve until stopped; the exit status of the server."""
    print(
        f"careerkg: serving store {settings.store} on http://{settings.host}:{settings.port}/",
        file=sys.stderr,
        flush=True,
    )
    try:
        _Gunicorn(settings).run()
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 1
    return 0

"""Every context's background jobs, registered for the app's in-process runner and the worker."""

from __future__ import annotations


def register_all() -> None:
    # Importing a tasks module registers its handlers with kit.jobs.
    from microcred.credentials import tasks as credentials_tasks

    del credentials_tasks

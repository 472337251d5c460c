"""Every context's background jobs, registered for the app's in-process runner and the worker."""

from __future__ import annotations


def register_all() -> None:
    # Importing a tasks module registers its handlers with kit.jobs.
    from microcred.ask import tasks as ask_tasks
    from microcred.assessment import tasks as assessment_tasks
    from microcred.credentials import tasks as credentials_tasks
    from microcred.learning import tasks as learning_tasks

    del ask_tasks, assessment_tasks, credentials_tasks, learning_tasks

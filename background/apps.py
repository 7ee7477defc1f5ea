from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class BackgroundConfig(AppConfig):
    """Work done outside requests: the task queue's workers, the periodic schedule, notifications."""

    name = "background"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_tasks.signals import task_finished

        task_finished.connect(_periodic_outcome, dispatch_uid="background.periodic_outcome")


def _periodic_outcome(sender: Any, task_result: Any, **kwargs: Any) -> None:
    from django_tasks import TaskResultStatus

    from background import scheduler
    from background.selectors import last_line

    error = ""
    if task_result.errors:
        error = last_line(task_result.errors[-1].traceback) or task_result.errors[-1].exception_class_path
    scheduler.periodic_outcome_record(task_id=str(task_result.id),
                                      succeeded=task_result.status == TaskResultStatus.SUCCESSFUL, error=error)

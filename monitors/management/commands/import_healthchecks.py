"""`manage.py import_healthchecks --url U --api-key K [--ping-key P] [--project NAME] [--dry-run]`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitors.healthchecks_import import (
    HealthchecksImportError,
    ImportPlan,
    healthchecks_fetch,
    import_apply,
    import_plan,
)


class Command(BaseCommand):
    help = (
        "Import a Healthchecks project's checks as monitors that keep their ping URLs "
        "(Management API v3; a read-write key shows the ping uuids). Running it again updates."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url", required=True, help="The Healthchecks site, e.g. https://healthchecks.io"
        )
        parser.add_argument(
            "--api-key", required=True, help="The project's API key (read-write to keep uuids)."
        )
        parser.add_argument(
            "--ping-key", help="The project's ping key, so /ping/<ping key>/<slug> URLs keep working."
        )
        parser.add_argument("--project", help="The Vigil project to import into (made if missing).")
        parser.add_argument("--dry-run", action="store_true", help="Print the plan; write nothing.")
        parser.add_argument(
            "--new-uuids",
            action="store_true",
            help="With a read-only key (no ping URLs shown): import anyway, with new ping uuids.",
        )

    def handle(
        self,
        *args: Any,
        url: str,
        api_key: str,
        ping_key: str | None,
        project: str | None,
        dry_run: bool,
        new_uuids: bool,
        **options: Any,
    ) -> None:
        project_name = project or f"Healthchecks ({urlsplit(url).hostname or url})"
        try:
            export = healthchecks_fetch(url=url, api_key=api_key)
            plan = import_plan(
                export=export, project_name=project_name, ping_key=ping_key, new_uuids=new_uuids
            )
            self._print_plan(plan)
            if dry_run:
                self.stdout.write("Dry run: nothing was written.")
                return
            result = import_apply(plan)
        except HealthchecksImportError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported into project {result.project.name!r} (id {result.project.id}): "
                f"{result.created} created, {result.updated} updated, {result.skipped} skipped."
            )
        )
        if result.created or result.updated:
            self.stdout.write(
                "Now point the cron lines at this Vigil: replace the Healthchecks ping host with this "
                "site's SITE_URL; the rest of each URL stays the same."
            )

    def _print_plan(self, plan: ImportPlan) -> None:
        where = "existing" if plan.project is not None else "new"
        self.stdout.write(f"Project: {plan.project_name!r} ({where})")
        if plan.ping_key is not None:
            self.stdout.write("Ping key: set to the one given with --ping-key")
        rows = [
            [
                item.action,
                item.slug or "-",
                item.name,
                item.schedule_words or "-",
                str(item.fields.get("grace_seconds", "-")),
                "yes" if item.paused else "no",
                f"{str(item.ping_uuid)[:8]}…" if item.ping_uuid else "new",
                "; ".join(item.notes),
            ]
            for item in plan.monitors
        ]
        self._table(["action", "slug", "name", "schedule", "grace s", "paused", "ping uuid", "notes"], rows)
        created, updated, skipped = (plan.count(action) for action in ("create", "update", "skip"))
        self.stdout.write(f"{created} to create, {updated} to update, {skipped} skipped.")
        for note in plan.notes:
            self.stdout.write(note)
        if plan.channels:
            self.stdout.write(
                "\nChannels cannot be imported (the API shows no secrets); create them in Vigil:"
            )
            self._table(
                ["channel", "kind", "checks", "create in Vigil"],
                [[advice.name, advice.kind, str(advice.used_by), advice.create] for advice in plan.channels],
            )

    def _table(self, header: list[str], rows: list[list[str]]) -> None:
        widths = [max(len(row[index]) for row in [header, *rows]) for index in range(len(header))]
        for row in [header, ["-" * width for width in widths], *rows]:
            self.stdout.write(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            )

"""`vigil_bootstrap --email E --password P`: a user, a project, and a new API key on the last line."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from monitors.api_keys import api_key_create
from monitors.models import Membership
from monitors.projects import ProjectError, default_project_name, project_create
from monitors.roles import Role


class Command(BaseCommand):
    help = "Create (or reuse) a user and their project, and print a new read-write API key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument(
            "--project", default="", help="Project name for a new user (default: from the e-mail)."
        )

    def handle(self, *args: Any, email: str, password: str, project: str, **options: Any) -> None:
        try:
            validate_email(email)
        except Exception:
            raise CommandError(f"not a valid e-mail address: {email!r}") from None
        if not password:
            raise CommandError("the password must not be empty")
        user_model = get_user_model()
        with transaction.atomic():
            user = user_model.objects.filter(email__iexact=email).first()
            if user is None:
                user = user_model.objects.create_user(username=email, email=email, password=password)
                self.stdout.write(f"Created user {email}")
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
                self.stdout.write(f"Reusing user {email} (password updated)")
            membership = (
                Membership.objects.filter(user=user, role=Role.OWNER).select_related("project").first()
            )
            if membership is None:
                try:
                    owned = project_create(name=project or default_project_name(email), owner=user)
                except ProjectError as error:
                    raise CommandError(f"--project: {error.message}") from None
                self.stdout.write(f"Created project {owned.name!r}")
            else:
                owned = membership.project
                self.stdout.write(f"Reusing project {owned.name!r}")
            _, raw_key = api_key_create(project=owned, name="bootstrap")
        self.stdout.write(raw_key)

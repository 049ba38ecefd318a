"""``python manage.py createsessiontable``: creates the DynamoDB table of the session engine
``connect_dynamodb.contrib.django`` from ``settings.CONNECT_DYNAMODB``, as Django's
``createcachetable`` creates the database cache's table.

The table gets what the engine needs: its hash key, on-demand billing (or the
``billing``/capacity settings), TTL on ``expires``, and with ``"user_field"`` the ``user-index``
global secondary index (added to an existing table that lacks it). A table that exists is left
as it is; either way the table is verified, and a problem (TTL on another attribute, another key)
is an error. Safe to run on every deploy and from several hosts at once.

``migrate`` does not call it, as it does not call ``createcachetable``: the table lives in
DynamoDB, not in a database Django migrates, and creating it needs IAM permissions
(``CreateTable``, ``UpdateTimeToLive``) that an app's runtime role should not hold; it belongs
to the deploy step (or to infrastructure as code: ``python -m connect_dynamodb iac``).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connect_dynamodb import SessionStoreError
from connect_dynamodb.contrib.django import get_store


class Command(BaseCommand):
    help = (
        "Creates the DynamoDB table of the connect-dynamodb session engine "
        "(settings.CONNECT_DYNAMODB) unless it exists, with TTL and, with user_field, "
        "the user index; then verifies it."
    )

    requires_system_checks: Any = ()

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Creates nothing: says whether the table exists and what is wrong with it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        store = get_store()
        table = store.table
        verbosity = options["verbosity"]
        try:
            if options["dry_run"]:
                if not store.table_exists():
                    self.stdout.write(
                        f"Session table '{table}' does not exist: it would be created."
                    )
                    return
                self._check(table, store.verify_table())
                self.stdout.write(f"Session table '{table}' exists.")
                return
            created = store.create_table()
            problems = store.verify_table()
        except SessionStoreError as err:
            raise CommandError(f"{err.code}: {err.message}") from err
        self._check(table, problems)
        if verbosity > 1:
            state = "created" if created else "already exists"
            self.stdout.write(f"Session table '{table}' {state}.")

    def _check(self, table: str, problems: list[str]) -> None:
        if problems:
            raise CommandError(
                f"Session table '{table}' is not fit for sessions: " + "; ".join(problems)
            )

"""The app's configuration."""

from __future__ import annotations

from django.apps import AppConfig


class ConnectDynamoDBConfig(AppConfig):
    """connect-dynamodb's management commands; no models, no migrations."""

    name = "connect_dynamodb.contrib.django_app"
    label = "connect_dynamodb"
    verbose_name = "connect-dynamodb"

"""The Django app of connect-dynamodb, for its management command: add
``"connect_dynamodb.contrib.django_app"`` to ``INSTALLED_APPS`` and
``python manage.py createsessiontable`` creates the session engine's table from
``settings.CONNECT_DYNAMODB`` (see ``management/commands/createsessiontable.py``). The session
engine itself (``SESSION_ENGINE = "connect_dynamodb.contrib.django"``) works without it."""

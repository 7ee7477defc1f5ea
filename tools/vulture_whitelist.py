"""Names `vulture` cannot see being used, each with who uses it. Never imported or run: vulture reads it.

Only what a framework, a setting, a template or the database reaches belongs here. Code nothing reaches is
deleted, not listed. Attribute access on `used` keeps each entry a plain name (a rename elsewhere leaves an
entry stale but breaks nothing; `vulture` then names the renamed code, not this file).
"""
from __future__ import annotations

from typing import Any

used: Any = None

# Named by dotted path in portal/settings.py (INSTALLED_APPS, MIDDLEWARE, REST_FRAMEWORK, TEMPLATES, LOGGING).
_ = used.BackgroundConfig
_ = used.SessionsAppConfig
_ = used.RestoresConfig
_ = used.portal_exception_handler
_ = used.portal  # sessions_app.context_processors.portal
_ = used.UserTimeZoneMiddleware
_ = used.ContentSecurityPolicyMiddleware
_ = used.NoStoreMiddleware
_ = used.TenantSignInMiddleware
_ = used.NullCharacterMiddleware
_ = used.SessionActivityMiddleware
_ = used.CacheOutageMiddleware
_ = used.secrets_check  # registered with Django's system checks by its decorator

# Django settings: read by Django and its apps through django.conf.settings, and set by tests' `settings` fixture.
_ = used.LOGOUT_REDIRECT_URL
_ = used.SESSION_COOKIE_HTTPONLY
_ = used.SESSION_COOKIE_AGE
_ = used.AUTH_PASSWORD_VALIDATORS
_ = used.CSRF_COOKIE_HTTPONLY
_ = used.X_FRAME_OPTIONS
_ = used.SECURE_CONTENT_TYPE_NOSNIFF
_ = used.SECURE_REFERRER_POLICY
_ = used.CSRF_COOKIE_SECURE
_ = used.SECURE_SSL_REDIRECT
_ = used.SECURE_HSTS_INCLUDE_SUBDOMAINS
_ = used.SECURE_HSTS_PRELOAD
_ = used.CSRF_TRUSTED_ORIGINS
_ = used.SECURE_PROXY_SSL_HEADER
_ = used.STATIC_URL
_ = used.STATIC_ROOT
_ = used.STATICFILES_DIRS
_ = used.REST_FRAMEWORK
_ = used.SPECTACULAR_SETTINGS
_ = used.LOGGING
_ = used.ALLOWED_HOSTS
_ = used.TIME_ZONE
_ = used.USE_TZ
_ = used.USE_I18N
_ = used.LANGUAGE_CODE
_ = used.DEFAULT_AUTO_FIELD
_ = used.INSTALLED_APPS
_ = used.MIDDLEWARE
_ = used.AUTHENTICATION_BACKENDS
_ = used.ROOT_URLCONF
_ = used.WSGI_APPLICATION
_ = used.TEMPLATES
_ = used.LOGIN_URL
_ = used.LOGIN_REDIRECT_URL
_ = used.PASSWORD_HASHERS
_ = used.WHITENOISE_USE_FINDERS
_ = used.WHITENOISE_AUTOREFRESH
_ = used.EMAIL_BACKEND
_ = used.EMAIL_HOST
_ = used.EMAIL_PORT
_ = used.EMAIL_HOST_USER
_ = used.EMAIL_HOST_PASSWORD
_ = used.EMAIL_USE_TLS
_ = used.EMAIL_TIMEOUT
_ = used.VB365_CONNECT_TIMEOUT
_ = used.VB365_READ_TIMEOUT
_ = used.VB365_MAX_RETRIES
_ = used.SESSION_IDLE_CHECK_SECONDS
_ = used.AUDIT_CHECKPOINT_INTERVAL_SECONDS
_ = used.RESTORE_JOB_CHECK_SECONDS  # named by background.scheduler.PERIODIC_TASKS
_ = used.EXPORT_PURGE_INTERVAL_SECONDS

# Database columns: written with update(**fields) or bulk inserts, read by queries, migrations and the admin.
_ = used.last_task_id  # background.models.PeriodicTask
_ = used.last_finished_at
_ = used.last_seen_sync  # sessions_app.models.RestoreSession
_ = used.outcome_notified_at
_ = used.search_text
_ = used.heartbeat_at  # sessions_app.models.SyncRun
_ = used.SHAREPOINT  # sessions_app.models.Workload: a choice stored in rows

# Read by templates (or serialized), not by Python.
_ = used.task_name  # background.selectors.FailureRow: templates/background/operations.html
_ = used.ms  # sessions_app.services.health.Check: /healthz's JSON
_ = used.organization_fixed  # sessions_app.specs.StartOptions: templates/sessions_app/session_start.html
_ = used.notified_at  # restores.models.RestoreJob: claimed by a conditional update (notified_at__isnull)

# Form and serializer fields, declared for Django's and DRF's metaclasses.
_ = used.submission_key  # sessions_app.forms.StartSessionForm
_ = used.point_choice
_ = used.start_another
_ = used.ended_at  # sessions_app.api.serializers
_ = used.get_scope  # SerializerMethodField `scope`
_ = used.supported  # sessions_app.api.views: RestorePointList's OutputSerializer
_ = used.certificate_file  # restores.admin.AppCredentialForm

# Python's own protocols and hooks.
_ = used.WorkerLost  # background.queue: named by its dotted path (INTERRUPTED_CLASS_PATH) in stored task results
_ = used.exc_text  # portal.logging: logging.LogRecord's cache of the formatted traceback
_ = used.trust_env  # sessions_app.upstream.client: requests.Session reads it on every request
_ = used.temporary_file_path  # restores.storage._SpooledFile: FileSystemStorage moves such a file into place
_ = used.max_in_memory_upload_chunks  # restores.storage_settings: s3transfer's TransferConfig reads it
_ = used.encoding  # tests.upstream.stub_transport: requests.Response reads it to decode
_ = used.execute_sql_flush  # tests.database_roles: patched onto Django's DatabaseOperations
_ = used.app_configs  # the signature Django's system checks are called with
_ = used.transactional_db  # pytest fixtures requested by name for their effect
_ = used.django_db_setup
_ = used.background_state
_ = used.other_tenant

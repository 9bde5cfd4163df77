"""Shiplane config layer: load and validate `shiplane.yaml`, export its JSON Schema,
scaffold a new project.

This package's face is the way in: callers import the names below from `shiplane.config`,
not from its modules, so the modules can be split or moved without touching callers.
See docs/contracts.md (the `shiplane.config` part) and docs/configuration.md.
"""

from shiplane.config.durations import format_duration, parse_duration
from shiplane.config.loader import load_project, load_project_bytes, load_project_text
from shiplane.config.models import (
    API_VERSION,
    NOTIFICATION_EVENTS,
    AfterSpec,
    AppConfig,
    ApprovalPolicy,
    ChartSource,
    CheckConfig,
    ClusterConfig,
    ConditionConfig,
    Duration,
    EnvironmentConfig,
    FreezePolicy,
    HealthCheckConfig,
    HttpCheckConfig,
    HttpUrl,
    JobCheckConfig,
    ManifestSource,
    NotificationChannel,
    NotificationEventName,
    ProjectConfig,
    PrometheusCheckConfig,
    PrunePolicy,
    RollbackPolicy,
    SecretNotSetError,
    SoakCheckConfig,
    WindowConfig,
    WindowRule,
)
from shiplane.config.problems import ConfigError, ConfigProblem
from shiplane.config.scaffold import ScaffoldError, create_project, scaffold_files
from shiplane.config.schema import project_json_schema

__all__ = [
    "API_VERSION",
    "NOTIFICATION_EVENTS",
    "AfterSpec",
    "AppConfig",
    "ApprovalPolicy",
    "ChartSource",
    "CheckConfig",
    "ClusterConfig",
    "ConditionConfig",
    "ConfigError",
    "ConfigProblem",
    "Duration",
    "EnvironmentConfig",
    "FreezePolicy",
    "HealthCheckConfig",
    "HttpCheckConfig",
    "HttpUrl",
    "JobCheckConfig",
    "ManifestSource",
    "NotificationChannel",
    "NotificationEventName",
    "ProjectConfig",
    "PrometheusCheckConfig",
    "PrunePolicy",
    "RollbackPolicy",
    "ScaffoldError",
    "SecretNotSetError",
    "SoakCheckConfig",
    "WindowConfig",
    "WindowRule",
    "create_project",
    "format_duration",
    "load_project",
    "load_project_bytes",
    "load_project_text",
    "parse_duration",
    "project_json_schema",
    "scaffold_files",
]

"""Shiplane config layer: load and validate `shiplane.yaml`, export its JSON Schema.

See docs/contracts.md (the `shiplane.config` part) and docs/configuration.md.
"""

from shiplane.config.durations import format_duration, parse_duration
from shiplane.config.loader import load_project, load_project_text
from shiplane.config.models import (
    API_VERSION,
    AfterSpec,
    AppConfig,
    ApprovalPolicy,
    ChartSource,
    CheckConfig,
    ClusterConfig,
    ConditionConfig,
    EnvironmentConfig,
    FreezePolicy,
    HealthCheckConfig,
    HttpCheckConfig,
    JobCheckConfig,
    ManifestSource,
    ProjectConfig,
    PrometheusCheckConfig,
    PrunePolicy,
    RollbackPolicy,
    SoakCheckConfig,
    WindowConfig,
    WindowRule,
)
from shiplane.config.problems import ConfigError, ConfigProblem
from shiplane.config.schema import project_json_schema

__all__ = [
    "API_VERSION",
    "AfterSpec",
    "AppConfig",
    "ApprovalPolicy",
    "ChartSource",
    "CheckConfig",
    "ClusterConfig",
    "ConditionConfig",
    "ConfigError",
    "ConfigProblem",
    "EnvironmentConfig",
    "FreezePolicy",
    "HealthCheckConfig",
    "HttpCheckConfig",
    "JobCheckConfig",
    "ManifestSource",
    "ProjectConfig",
    "PrometheusCheckConfig",
    "PrunePolicy",
    "RollbackPolicy",
    "SoakCheckConfig",
    "WindowConfig",
    "WindowRule",
    "format_duration",
    "load_project",
    "load_project_text",
    "parse_duration",
    "project_json_schema",
]

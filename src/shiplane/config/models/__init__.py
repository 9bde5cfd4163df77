"""The typed model of `shiplane.yaml` (pydantic v2, frozen), one module per topic.

Field names are snake_case in Python and camelCase in YAML (`auto_promote` /
`autoPromote`). Durations are stored as whole seconds. Structure and single values are
checked here; cross-references (an environment's cluster, `after`, `verify`, ...) are
checked by `references`, which works on the raw document so every problem is reported.

This package is the way in: import from `shiplane.config.models`, not its modules.
"""

from shiplane.config.models.apps import AppConfig, ChartSource, ManifestSource
from shiplane.config.models.base import (
    API_VERSION,
    ConfigModel,
    Duration,
    Expression,
    HttpUrl,
    Name,
    Ref,
    Text,
)
from shiplane.config.models.checks import (
    CHECK_KINDS,
    CHECK_SCHEMAS,
    CheckConfig,
    CheckKind,
    HealthCheckConfig,
    HttpCheckConfig,
    JobCheckConfig,
    PrometheusCheckConfig,
    SoakCheckConfig,
    Templated,
    TemplatedUrl,
)
from shiplane.config.models.clusters import ClusterConfig
from shiplane.config.models.conditions import ConditionConfig
from shiplane.config.models.environments import (
    AfterSpec,
    ApprovalPolicy,
    EnvironmentConfig,
    FreezePolicy,
    PrunePolicy,
    RollbackPolicy,
)
from shiplane.config.models.forge import (
    FORGE_SCHEMAS,
    FORGE_TYPES,
    ForgeAccess,
    ForgeConfig,
    ForgeType,
    GiteaForgeConfig,
    GitHubForgeConfig,
    GitLabForgeConfig,
)
from shiplane.config.models.notifications import (
    ENV_VAR_PATTERN,
    NOTIFICATION_EVENTS,
    EnvVarName,
    NotificationChannel,
    NotificationEventName,
    SecretNotSetError,
    SlackChannel,
    WebhookChannel,
)
from shiplane.config.models.project import ProjectConfig, ReleasePolicy, UnknownNameError
from shiplane.config.models.receivers import RECEIVER_TYPES, ReceiverConfig, ReceiverType
from shiplane.config.models.sources import (
    SOURCE_KINDS,
    SOURCE_SCHEMAS,
    ChartSourceConfig,
    GitSourceConfig,
    ImageSourceConfig,
    RegistryAccess,
    RegistryCredentials,
    SourceConfig,
    SourceKind,
    split_repository,
)
from shiplane.config.models.sso import SsoConfig, SsoRoleMapping
from shiplane.config.models.strategies import (
    ROLLING,
    STRATEGY_KINDS,
    STRATEGY_SCHEMAS,
    BlueGreenConfig,
    CanaryConfig,
    CanaryStepConfig,
    PauseConfig,
    RollingConfig,
    StrategyConfig,
    StrategyKind,
)
from shiplane.config.models.windows import Days, TimeOrDate, WindowConfig, WindowRule

__all__ = [
    "API_VERSION",
    "CHECK_KINDS",
    "CHECK_SCHEMAS",
    "ENV_VAR_PATTERN",
    "FORGE_SCHEMAS",
    "FORGE_TYPES",
    "NOTIFICATION_EVENTS",
    "RECEIVER_TYPES",
    "ROLLING",
    "SOURCE_KINDS",
    "SOURCE_SCHEMAS",
    "STRATEGY_KINDS",
    "STRATEGY_SCHEMAS",
    "AfterSpec",
    "AppConfig",
    "ApprovalPolicy",
    "BlueGreenConfig",
    "CanaryConfig",
    "CanaryStepConfig",
    "ChartSource",
    "ChartSourceConfig",
    "CheckConfig",
    "CheckKind",
    "ClusterConfig",
    "ConditionConfig",
    "ConfigModel",
    "Days",
    "Duration",
    "EnvVarName",
    "EnvironmentConfig",
    "Expression",
    "ForgeAccess",
    "ForgeConfig",
    "ForgeType",
    "FreezePolicy",
    "GitHubForgeConfig",
    "GitLabForgeConfig",
    "GitSourceConfig",
    "GiteaForgeConfig",
    "HealthCheckConfig",
    "HttpCheckConfig",
    "HttpUrl",
    "ImageSourceConfig",
    "JobCheckConfig",
    "ManifestSource",
    "Name",
    "NotificationChannel",
    "NotificationEventName",
    "PauseConfig",
    "ProjectConfig",
    "PrometheusCheckConfig",
    "PrunePolicy",
    "ReceiverConfig",
    "ReceiverType",
    "Ref",
    "RegistryAccess",
    "RegistryCredentials",
    "ReleasePolicy",
    "RollbackPolicy",
    "RollingConfig",
    "SecretNotSetError",
    "SlackChannel",
    "SoakCheckConfig",
    "SourceConfig",
    "SourceKind",
    "SsoConfig",
    "SsoRoleMapping",
    "StrategyConfig",
    "StrategyKind",
    "Templated",
    "TemplatedUrl",
    "Text",
    "TimeOrDate",
    "UnknownNameError",
    "WebhookChannel",
    "WindowConfig",
    "WindowRule",
    "split_repository",
]

"""The typed model of `shiplane.yaml` (pydantic v2, frozen).

Field names are snake_case in Python and camelCase in YAML (`auto_promote` /
`autoPromote`). Durations are stored as whole seconds. Structure and single values are
checked here; cross-references (an environment's cluster, `after`, `verify`, ...) are
checked by `references`, which works on the raw document so every problem is reported.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from shiplane.config import values
from shiplane.config.durations import DURATION_HELP, DURATION_PATTERN, parse_duration
from shiplane.config.graph import topological_order
from shiplane.config.suggest import describe

API_VERSION = "shiplane/v1alpha1"

Name = Annotated[
    StrictStr,
    AfterValidator(values.check_name),
    WithJsonSchema({"type": "string", "pattern": values.NAME_PATTERN}),
]
"""A name of an environment, app, cluster, check, window or condition (a DNS label)."""

Ref = Annotated[StrictStr, WithJsonSchema({"type": "string", "minLength": 1})]
"""A reference to a name defined elsewhere in the file (checked by `references`)."""

Text = Annotated[StrictStr, AfterValidator(values.check_non_empty)]

Duration = Annotated[
    int,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": f"A duration: {DURATION_HELP}.",
        }
    ),
]
"""Whole seconds, written in YAML as `30s`, `5m`, `1h30m` or `2d`."""

HttpUrl = Annotated[
    StrictStr,
    AfterValidator(values.check_url),
    WithJsonSchema({"type": "string", "pattern": "^https?://.+"}),
]


def _number(value: object) -> object:
    # pydantic's lax float would take `true` or "0.5"; a YAML number is meant.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {describe(value)}")
    return value


def _list_of_rules(value: object) -> object:
    # `allow: {days: Mon-Fri}` is the common case; a list allows several rules.
    return [value] if isinstance(value, dict) else value


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        use_attribute_docstrings=True,
    )


# --- clusters ---------------------------------------------------------------------------


class ClusterConfig(_Model):
    """A connection to a Kubernetes cluster: a kubeconfig file (and context), or in-cluster."""

    kubeconfig: StrictStr | None = None
    """Path of a kubeconfig file; `~` is expanded, a relative path is relative to shiplane.yaml."""
    context: StrictStr | None = None
    """Context in the kubeconfig; its current context when omitted."""
    in_cluster: StrictBool = False
    """Use the service account of the pod Shiplane runs in."""

    @model_validator(mode="after")
    def _one_connection(self) -> Self:
        if self.in_cluster and (self.kubeconfig is not None or self.context is not None):
            raise ValueError("use either 'inCluster: true' or 'kubeconfig'/'context', not both")
        if not self.in_cluster and self.kubeconfig is None:
            raise ValueError(
                "a cluster needs 'kubeconfig' (a path, plus an optional 'context') "
                "or 'inCluster: true'"
            )
        return self

    def kubeconfig_path(self, base_dir: Path) -> Path | None:
        """The kubeconfig file to use, or None for in-cluster configuration."""
        if self.kubeconfig is None:
            return None
        path = Path(self.kubeconfig).expanduser()
        return path if path.is_absolute() else base_dir / path


# --- environments -------------------------------------------------------------------------


class AfterSpec(_Model):
    """Upstream environments: a list (all must succeed), `{all: [...]}` or `{any: [...]}`."""

    all_: tuple[Ref, ...] | None = Field(default=None, alias="all")
    """Every one of these environments must have verified the release."""
    any_: tuple[Ref, ...] | None = Field(default=None, alias="any")
    """At least one of these environments must have verified the release."""

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: object) -> object:
        if isinstance(data, list | tuple):
            return {"all": list(data)}
        if not isinstance(data, dict):
            raise ValueError(
                "expected a list of environments, or a mapping with 'all' or 'any', "
                f"got {describe(data)}"
            )
        return data

    @model_validator(mode="after")
    def _all_or_any(self) -> Self:
        if self.all_ is not None and self.any_ is not None:
            raise ValueError("use either 'all' or 'any', not both")
        return self

    @property
    def mode(self) -> Literal["all", "any"]:
        return "any" if self.any_ is not None else "all"

    @property
    def environments(self) -> tuple[str, ...]:
        return self.any_ if self.any_ is not None else (self.all_ or ())


class ApprovalPolicy(_Model):
    """Who must approve a promotion into the environment before it deploys."""

    required: StrictInt = Field(default=1, ge=1)
    """Number of distinct approvals needed."""
    groups: tuple[Text, ...] = ()
    """Groups whose members may approve (with `users` also empty: anyone with the approver role)."""
    users: tuple[Text, ...] = ()
    """Users who may approve."""
    allow_requester: StrictBool = False
    """May the person who requested the promotion approve it?"""
    allow_creator: StrictBool = False
    """May the creator of the release approve it?"""
    expiry: Duration = Field(default=86400, json_schema_extra={"default": "24h"})
    """How long an approval stays valid."""

    @model_validator(mode="after")
    def _satisfiable(self) -> Self:
        if self.users and not self.groups and self.required > len(self.users):
            raise ValueError(
                f"{self.required} approvals are required but only {len(self.users)} "
                "users may approve"
            )
        return self


class RollbackPolicy(_Model):
    """What happens when verification fails."""

    on_failure: Literal["auto", "manual"] = "manual"
    """`auto`: roll back to the last verified release; `manual`: stop and wait for a person."""


class FreezePolicy(_Model):
    """How a freeze of this environment behaves."""

    allow_rollback: StrictBool = True
    """Whether rollbacks may still run while the environment is frozen."""


class PrunePolicy(_Model):
    """Deleting objects that are no longer rendered."""

    enabled: StrictBool = True
    """Prune objects of the previous inventory that are no longer rendered."""
    max_fraction: Annotated[float, BeforeValidator(_number)] = Field(default=0.5, gt=0, le=1)
    """Refuse a prune that would delete more than this fraction of the managed objects."""


class EnvironmentConfig(_Model):
    """A node of the environment graph: where it deploys and the policy for getting there."""

    cluster: Ref
    """Name of a cluster in `clusters`."""
    namespace: Annotated[StrictStr, AfterValidator(values.check_namespace)]
    """Kubernetes namespace the apps are deployed into."""
    after: AfterSpec = AfterSpec()
    """Upstream environments that must have verified a release first."""
    auto_promote: StrictBool = False
    """Promote automatically once every gate passes."""
    soak: Duration | None = Field(default=None, json_schema_extra={"default": None})
    """How long a release must run healthy here before downstream environments may take it."""
    approvals: ApprovalPolicy | None = None
    """Approvals needed before deploying; none when omitted."""
    windows: tuple[Ref, ...] = ()
    """Names of `windows` that allow (or deny) deploying."""
    verify: tuple[Ref, ...] = ()
    """Names of `checks` run after deploying."""
    rollback: RollbackPolicy = RollbackPolicy()
    """What to do when verification fails."""
    freeze: FreezePolicy = FreezePolicy()
    """How a freeze behaves."""
    self_heal: StrictBool = False
    """Re-apply desired state when live objects drift."""
    prune: PrunePolicy = PrunePolicy()
    """Whether and how far objects no longer rendered are deleted."""


# --- apps ------------------------------------------------------------------------------------


class ChartSource(_Model):
    """A Helm chart released together with the app's images."""

    repository: Annotated[StrictStr, AfterValidator(values.check_chart_repository)]
    """Chart repository: `oci://registry/path` or an `https://` Helm repository."""
    name: Text
    """Chart name in that repository."""


class ManifestSource(_Model):
    """Where the app's base manifests live in the GitOps repository, and how to render them."""

    path: Annotated[StrictStr, AfterValidator(values.check_repo_path)]
    """Directory relative to the repository root, e.g. `apps/checkout`."""
    render: Literal["plain", "kustomize", "helm"] = "plain"
    """`plain` YAML files, a `kustomize` base, or a `helm` chart."""


class AppConfig(_Model):
    """A deployable microservice."""

    images: tuple[
        Annotated[
            StrictStr,
            AfterValidator(values.check_image_repository),
            WithJsonSchema({"type": "string", "pattern": values.IMAGE_REPOSITORY_PATTERN}),
        ],
        ...,
    ] = ()
    """Image repositories (no tag, no digest) whose versions make up a release."""
    chart: ChartSource | None = None
    """A Helm chart whose version is part of a release."""
    manifests: ManifestSource
    """The manifest source in the GitOps repository."""
    depends_on: tuple[Ref, ...] = ()
    """Apps applied before this one when released together."""
    immutable_field_policy: Literal["recreate", "fail"] = "fail"
    """When a change touches an immutable field: delete and re-create, or fail."""

    @model_validator(mode="after")
    def _has_artifacts(self) -> Self:
        if not self.images and self.chart is None:
            raise ValueError("an app needs at least one artifact source: 'images' or 'chart'")
        return self


# --- checks ----------------------------------------------------------------------------------


class _Measured(_Model):
    interval: Duration = Field(default=60, json_schema_extra={"default": "1m"})
    """Time between measurements."""
    count: StrictInt = Field(default=1, ge=1)
    """Number of measurements."""
    failure_limit: StrictInt = Field(default=0, ge=0)
    """Failed measurements tolerated; one more fails the check."""

    @model_validator(mode="after")
    def _can_fail(self) -> Self:
        if self.failure_limit >= self.count:
            raise ValueError(
                f"failureLimit ({self.failure_limit}) must be lower than count ({self.count}), "
                "or the check could never fail"
            )
        return self


class HttpCheck(_Measured):
    """Call an HTTP endpoint and evaluate an expression over the response."""

    url: HttpUrl
    """URL to call."""
    method: Literal["GET", "HEAD", "POST", "PUT"] = "GET"
    """HTTP method."""
    headers: dict[StrictStr, StrictStr] = {}
    """Extra request headers."""
    body: StrictStr | None = None
    """Request body."""
    expect: Text = "response.status == 200"
    """Expression that must hold for the response."""
    timeout: Duration = Field(default=10, json_schema_extra={"default": "10s"})
    """Timeout of one request."""


class PrometheusCheck(_Measured):
    """Run a PromQL query and evaluate an expression over its result."""

    address: HttpUrl
    """Prometheus base URL."""
    query: Text
    """PromQL query."""
    success: Text
    """Expression over `result` that marks a measurement successful."""
    failure: Text | None = None
    """Expression over `result` that marks a measurement failed (checked first); when
    neither decides, the measurement is inconclusive."""
    inconclusive_limit: StrictInt = Field(default=0, ge=0)
    """Inconclusive measurements tolerated; one more makes the check wait for a person."""
    initial_delay: Duration = Field(default=0, json_schema_extra={"default": "0s"})
    """Wait this long after the deploy before the first measurement."""
    timeout: Duration = Field(default=30, json_schema_extra={"default": "30s"})
    """Timeout of one query."""


class JobCheck(_Model):
    """Run a Kubernetes Job in the environment's namespace; success is its completion."""

    image: Text
    """Container image of the Job (tag or digest included)."""
    command: tuple[StrictStr, ...] = ()
    """Container command (the image's entrypoint when empty)."""
    args: tuple[StrictStr, ...] = ()
    """Container arguments."""
    env: dict[StrictStr, StrictStr] = {}
    """Environment variables."""
    service_account: StrictStr | None = None
    """Service account of the Job's pod."""
    backoff_limit: StrictInt = Field(default=0, ge=0)
    """Retries of the pod before the Job fails."""
    timeout: Duration = Field(default=600, json_schema_extra={"default": "10m"})
    """Deadline of the Job."""


class SoakCheck(_Model):
    """Watch the deployment stay healthy for a while."""

    duration: Duration
    """How long the deployment must stay healthy."""


CHECK_KINDS = ("http", "prometheus", "job", "soak")


class CheckConfig(_Model):
    """A verification run after deploying: exactly one of http, prometheus, job or soak."""

    http: HttpCheck | None = None
    """An HTTP request."""
    prometheus: PrometheusCheck | None = None
    """A Prometheus query."""
    job: JobCheck | None = None
    """A Kubernetes Job."""
    soak: SoakCheck | None = None
    """A healthy period."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        kinds = [k for k in CHECK_KINDS if getattr(self, k) is not None]
        if not kinds:
            raise ValueError("a check needs exactly one of: " + ", ".join(CHECK_KINDS))
        if len(kinds) > 1:
            raise ValueError("a check has exactly one kind, found: " + ", ".join(kinds))
        return self

    @property
    def kind(self) -> Literal["http", "prometheus", "job", "soak"]:
        if self.http is not None:
            return "http"
        if self.prometheus is not None:
            return "prometheus"
        return "job" if self.job is not None else "soak"


# --- windows --------------------------------------------------------------------------------

Days = Annotated[
    tuple[int, ...],
    BeforeValidator(values.parse_days),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": values.DAYS_PATTERN},
                {"type": "array", "items": {"type": "string"}},
            ],
            "description": "Days such as 'Mon-Fri', 'Sat,Sun' or 'Mon-Wed,Fri'.",
        }
    ),
]

TimeOrDate = Annotated[
    time | date,
    BeforeValidator(values.parse_time_or_date),
    WithJsonSchema(
        {
            "type": "string",
            "anyOf": [{"pattern": values.TIME_PATTERN}, {"pattern": values.DATE_PATTERN}],
            "description": "A time of day 'HH:MM' or a date 'YYYY-MM-DD'.",
        }
    ),
]


class WindowRule(_Model):
    """A period: days of the week, a time range within a day, and/or a date range."""

    days: Days | None = None
    """Days of the week (Mon=0 ... Sun=6 once parsed); every day when omitted."""
    from_: TimeOrDate | None = Field(default=None, alias="from")
    """Start: 'HH:MM' (daily time range) or 'YYYY-MM-DD' (date range, inclusive)."""
    to: TimeOrDate | None = None
    """End: same kind as `from`. A time range may cross midnight (22:00 to 06:00)."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.days is None and self.from_ is None and self.to is None:
            raise ValueError("a window rule needs 'days', 'from'/'to', or both")
        if (self.from_ is None) != (self.to is None):
            raise ValueError("'from' and 'to' go together: give both or neither")
        if self.from_ is not None and self.to is not None:
            if isinstance(self.from_, time) != isinstance(self.to, time):
                raise ValueError("'from' and 'to' must both be times (HH:MM) or both dates")
            if isinstance(self.from_, time) and self.from_ == self.to:
                raise ValueError("'from' and 'to' are the same time; the window would be empty")
            start, end = self.from_, self.to
            if isinstance(start, date) and isinstance(end, date) and start > end:
                raise ValueError(f"'from' ({self.from_}) is after 'to' ({self.to})")
        return self

    @property
    def is_date_range(self) -> bool:
        return self.from_ is not None and not isinstance(self.from_, time)


class WindowConfig(_Model):
    """When deploying is allowed (`allow`) or forbidden (`deny`), in a time zone."""

    allow: Annotated[tuple[WindowRule, ...], BeforeValidator(_list_of_rules)] = ()
    """Deploying is allowed only inside these periods (if any are given)."""
    deny: Annotated[tuple[WindowRule, ...], BeforeValidator(_list_of_rules)] = ()
    """Deploying is never allowed inside these periods."""
    timezone: Annotated[StrictStr, AfterValidator(values.check_time_zone)] = "UTC"
    """IANA time zone the days and times are read in."""

    @model_validator(mode="after")
    def _has_rules(self) -> Self:
        if not self.allow and not self.deny:
            raise ValueError("a window needs 'allow', 'deny' or both")
        return self

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# --- conditions -------------------------------------------------------------------------------


class ConditionConfig(_Model):
    """An expression gate over the release (evaluated with CEL by the gates layer)."""

    environments: tuple[Ref, ...] = ()
    """Environments this condition applies to; all environments when empty."""
    eligible: Text | None = None
    """The release may be promoted only when this expression is true."""
    reject: Text | None = None
    """The release is rejected when this expression is true."""

    @model_validator(mode="after")
    def _has_expression(self) -> Self:
        if self.eligible is None and self.reject is None:
            raise ValueError("a condition needs 'eligible', 'reject' or both")
        return self


# --- notifications ----------------------------------------------------------------------------

NotificationEventName = Literal[
    "promotion.waiting_for_approval",
    "promotion.succeeded",
    "promotion.failed",
    "promotion.rolled_back",
    "promotion.frozen",
]

NOTIFICATION_EVENTS: tuple[NotificationEventName, ...] = get_args(NotificationEventName)
"""Every event a notification channel can subscribe to (docs/notifications.md)."""

ENV_VAR_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


def _check_env_var_name(value: str) -> str:
    if not re.match(ENV_VAR_PATTERN, value):
        raise ValueError(
            f"{describe(value)} is not an environment variable name "
            "(letters, digits and '_', not starting with a digit)"
        )
    return value


EnvVarName = Annotated[
    StrictStr,
    AfterValidator(_check_env_var_name),
    WithJsonSchema({"type": "string", "pattern": ENV_VAR_PATTERN}),
]


class SecretNotSetError(ValueError):
    """A channel names an environment variable that is not set (or is empty)."""


def _from_env(variable: str, what: str, environ: Mapping[str, str] | None) -> str:
    value = (os.environ if environ is None else environ).get(variable, "")
    if not value:
        raise SecretNotSetError(f"the environment variable {variable} ({what}) is not set")
    return value


class WebhookChannel(_Model):
    """A generic JSON webhook: each event is POSTed, signed with HMAC-SHA256."""

    url: HttpUrl
    """URL the events are POSTed to."""
    secret: StrictStr | None = Field(default=None, min_length=16)
    """Signing secret written in the file (prefer `secretEnv`, so it stays out of git)."""
    secret_env: EnvVarName | None = None
    """Name of an environment variable of the server that holds the signing secret."""
    events: tuple[NotificationEventName, ...] = NOTIFICATION_EVENTS
    """Events sent to this channel (default: all)."""
    headers: dict[StrictStr, StrictStr] = {}
    """Extra request headers (never logged)."""
    timeout: Duration = Field(default=10, json_schema_extra={"default": "10s"})
    """Timeout of one delivery attempt."""

    @model_validator(mode="after")
    def _one_secret(self) -> Self:
        if (self.secret is None) == (self.secret_env is None):
            raise ValueError(
                "a webhook needs exactly one of 'secretEnv' (an environment variable "
                "holding the signing secret, preferred) or 'secret'"
            )
        return self

    def secret_value(self, environ: Mapping[str, str] | None = None) -> str:
        """The signing secret; raises SecretNotSetError when its variable is unset."""
        if self.secret is not None:
            return self.secret
        assert self.secret_env is not None
        return _from_env(self.secret_env, "webhook secret", environ)


class SlackChannel(_Model):
    """A Slack (or compatible) incoming webhook: a readable message per event."""

    url: HttpUrl | None = None
    """Incoming-webhook URL written in the file (prefer `urlEnv`: the URL is a secret)."""
    url_env: EnvVarName | None = None
    """Name of an environment variable of the server that holds the incoming-webhook URL."""
    events: tuple[NotificationEventName, ...] = NOTIFICATION_EVENTS
    """Events sent to this channel (default: all)."""
    timeout: Duration = Field(default=10, json_schema_extra={"default": "10s"})
    """Timeout of one delivery attempt."""

    @model_validator(mode="after")
    def _one_url(self) -> Self:
        if (self.url is None) == (self.url_env is None):
            raise ValueError(
                "a slack channel needs exactly one of 'urlEnv' (an environment variable "
                "holding the incoming-webhook URL, preferred) or 'url'"
            )
        return self

    def url_value(self, environ: Mapping[str, str] | None = None) -> str:
        """The incoming-webhook URL; raises SecretNotSetError when its variable is unset."""
        if self.url is not None:
            return self.url
        assert self.url_env is not None
        url = _from_env(self.url_env, "slack webhook URL", environ)
        if not url.startswith(("https://", "http://")):
            # The URL is a secret: say which variable is wrong, never what it holds.
            raise SecretNotSetError(f"the environment variable {self.url_env} is not a URL")
        return url


class NotificationChannel(_Model):
    """Where promotion events are sent: exactly one of `webhook` or `slack`."""

    webhook: WebhookChannel | None = None
    """A generic JSON webhook signed with HMAC-SHA256."""
    slack: SlackChannel | None = None
    """A Slack-compatible incoming webhook."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.webhook is None) == (self.slack is None):
            raise ValueError("a notification channel needs exactly one of: webhook, slack")
        return self

    @property
    def kind(self) -> Literal["webhook", "slack"]:
        return "webhook" if self.webhook is not None else "slack"

    @property
    def events(self) -> tuple[str, ...]:
        spec = self.webhook if self.webhook is not None else self.slack
        assert spec is not None
        return spec.events

    @property
    def timeout(self) -> int:
        spec = self.webhook if self.webhook is not None else self.slack
        assert spec is not None
        return spec.timeout


# --- the project ------------------------------------------------------------------------------


class ProjectConfig(_Model):
    """A Shiplane project: clusters, the environment graph, apps and policies."""

    api_version: Literal["shiplane/v1alpha1"]
    """Version of this file's format."""
    project: Name
    """Name of the project."""
    clusters: dict[Name, ClusterConfig]
    """Cluster connections by name."""
    environments: dict[Name, EnvironmentConfig]
    """Environments by name; `after` links them into an acyclic graph."""
    apps: dict[Name, AppConfig]
    """Apps by name."""
    checks: dict[Name, CheckConfig] = {}
    """Verification checks by name, used by `environments.*.verify`."""
    windows: dict[Name, WindowConfig] = {}
    """Deployment windows by name, used by `environments.*.windows`."""
    conditions: dict[Name, ConditionConfig] = {}
    """Expression gates by name."""
    notifications: dict[Name, NotificationChannel] = {}
    """Notification channels by name: where promotion events are sent."""

    @field_validator("environments", "apps", "clusters", mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        # `environments:` left empty reads as null; say what is expected instead of
        # pydantic's generic "valid dictionary".
        if value is None:
            raise ValueError("expected a mapping of names to definitions, got nothing (null)")
        return value

    def environment_order(self) -> list[str]:
        """Environments in promotion order (upstream first; ties keep file order)."""
        names = list(self.environments)
        return topological_order(
            names, {n: e.after.environments for n, e in self.environments.items()}
        )

    def app_order(self) -> list[str]:
        """Apps in apply order (`dependsOn` first; ties keep file order)."""
        return topological_order(list(self.apps), {n: a.depends_on for n, a in self.apps.items()})

    def upstream(self, environment: str) -> tuple[str, ...]:
        """Direct upstream environments of `environment`."""
        return self.environments[environment].after.environments

    def downstream(self, environment: str) -> list[str]:
        """Environments that list `environment` in their `after`."""
        return [n for n, e in self.environments.items() if environment in e.after.environments]

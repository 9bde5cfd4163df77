"""`checks`: verifications run after a deploy, one model per kind.

These models are the check plugins' schemas: `gates/checks` registers each plugin with
the model of its kind, so what `shiplane.yaml` accepts and what a plugin runs with are
one definition (docs/checks.md lists every field).

Vocabulary: a check that *retries until it passes* (`http`) counts `attempts`; a check
that *takes measurements and tallies them* (`prometheus`) takes `count` measurements and
tolerates `failureLimit` failed ones. `http` still reads the older `count`/`failureLimit`
pair as `attempts = failureLimit + 1` (what it has always meant there).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    Field,
    ModelWrapValidatorHandler,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from shiplane.config.models.base import ConfigModel, Duration, Expression, HttpUrl
from shiplane.domain.suggest import describe
from shiplane.domain.templates import check_template

Templated = Annotated[StrictStr, AfterValidator(check_template)]
"""Text with `{{environment}}`, `{{namespace}}`, `{{app}}`, `{{release}}` placeholders."""

TemplatedUrl = Annotated[HttpUrl, AfterValidator(check_template)]


class HealthCheckConfig(ConfigModel):
    """Wait until the deployed apps are healthy."""

    timeout: Duration = Field(default=300, json_schema_extra={"default": "5m"})
    """How long the apps may take to become healthy."""
    interval: Duration = Field(default=5, ge=1, json_schema_extra={"default": "5s"})
    """Time between two looks at the health."""


def _whole(value: Any, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{key}: expected a whole number >= {minimum}, got {describe(value)}")
    return value


class HttpCheckConfig(ConfigModel):
    """Call an HTTP endpoint and evaluate an expression over the response; retry a failed
    attempt after `interval` until `attempts` are used up."""

    url: TemplatedUrl
    """URL to call; may use `{{environment}}`, `{{namespace}}`, `{{app}}`, `{{release}}`."""
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    """HTTP method."""
    headers: dict[StrictStr, Templated] = {}
    """Extra request headers."""
    body: Templated | None = None
    """Request body."""
    expect: Expression = "response.status == 200"
    """CEL expression over `response` that must be true."""
    timeout: Duration = Field(default=10, ge=1, json_schema_extra={"default": "10s"})
    """Timeout of one request."""
    attempts: StrictInt = Field(default=1, ge=1)
    """Attempts before the check fails (1: no retry)."""
    interval: Duration = Field(default=5, ge=1, json_schema_extra={"default": "5s"})
    """Time between two attempts."""

    @model_validator(mode="wrap")
    @classmethod
    def _older_spelling(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        # `count`/`failureLimit` on http is how files written before `attempts` say it;
        # it always meant `failureLimit + 1` attempts (count only bounded failureLimit).
        if not isinstance(data, dict):
            return handler(data)
        keys = {"count", "failureLimit", "failure_limit"} & data.keys()
        if not keys:
            return handler(data)
        if "attempts" in data:
            raise ValueError(
                "give 'attempts' only: 'count'/'failureLimit' are the older spelling of it "
                "(attempts = failureLimit + 1)"
            )
        rest = {k: v for k, v in data.items() if k not in keys}
        count = _whole(data.get("count", 1), "count", 1)
        limit = _whole(data.get("failureLimit", data.get("failure_limit", 0)), "failureLimit", 0)
        model = handler({**rest, "attempts": limit + 1})
        if limit >= count:
            raise ValueError(
                f"failureLimit ({limit}) must be lower than count ({count}), "
                "or the check could never fail"
            )
        return model


class PrometheusCheckConfig(ConfigModel):
    """Run a PromQL query at intervals and judge each result with CEL conditions."""

    address: HttpUrl
    """Prometheus base URL, e.g. `http://prometheus:9090`."""
    query: Templated
    """PromQL query; may use `{{environment}}`, `{{namespace}}`, `{{app}}`, `{{release}}`."""
    success: Expression | None = None
    """CEL over `result`: the measurement passes when true."""
    failure: Expression | None = None
    """CEL over `result`: the measurement fails when true (checked before `success`)."""
    interval: Duration = Field(default=60, ge=1, json_schema_extra={"default": "1m"})
    """Time between measurements."""
    count: StrictInt = Field(default=1, ge=1)
    """Number of measurements that decide the check."""
    failure_limit: StrictInt = Field(default=0, ge=0)
    """Failed measurements tolerated; one more fails the check."""
    inconclusive_limit: StrictInt = Field(default=0, ge=0)
    """Inconclusive measurements tolerated; one more makes the check inconclusive."""
    consecutive_error_limit: StrictInt = Field(default=4, ge=0)
    """Errors in a row tolerated (query failed, expression erred); one more fails the check."""
    initial_delay: Duration = Field(default=0, json_schema_extra={"default": "0s"})
    """Wait before the first measurement."""
    timeout: Duration = Field(default=30, ge=1, json_schema_extra={"default": "30s"})
    """Timeout of one query."""

    @model_validator(mode="after")
    def _decidable(self) -> Self:
        if self.success is None and self.failure is None:
            raise ValueError("give 'success', 'failure' or both")
        if self.failure_limit >= self.count:
            raise ValueError(
                f"failureLimit ({self.failure_limit}) must be lower than count ({self.count}), "
                "or the check could never fail"
            )
        return self


class JobCheckConfig(ConfigModel):
    """Run a Kubernetes Job; give `image` (and command, args, env) or a whole `podSpec`."""

    image: StrictStr | None = None
    """Container image of the Job (tag or digest included); may be `{{image}}`, the
    release's image of the app."""
    command: tuple[StrictStr, ...] = ()
    """Container command (the image's entrypoint when empty)."""
    args: tuple[StrictStr, ...] = ()
    """Container arguments."""
    env: dict[StrictStr, StrictStr] = {}
    """Environment variables."""
    service_account: StrictStr | None = None
    """Service account of the Job's pod."""
    pod_spec: dict[StrictStr, Any] | None = None
    """A complete pod spec instead of `image`; `restartPolicy` defaults to Never."""
    labels: dict[StrictStr, StrictStr] = {}
    """Extra labels of the Job's pod."""
    backoff_limit: StrictInt = Field(default=0, ge=0)
    """Retries of the pod before the Job fails."""
    timeout: Duration = Field(default=600, ge=1, json_schema_extra={"default": "10m"})
    """Deadline of the Job (also its activeDeadlineSeconds)."""
    ttl: Duration = Field(default=3600, json_schema_extra={"default": "1h"})
    """How long a finished Job is kept (to read its logs); `0s` deletes it at once."""
    interval: Duration = Field(default=2, ge=1, json_schema_extra={"default": "2s"})
    """Time between two looks at the Job."""

    @model_validator(mode="after")
    def _one_pod_source(self) -> Self:
        if (self.image is None) == (self.pod_spec is None):
            raise ValueError("give either 'image' or 'podSpec'")
        if self.pod_spec is not None:
            extra = [
                f
                for f, v in (
                    ("command", self.command),
                    ("args", self.args),
                    ("env", self.env),
                    ("serviceAccount", self.service_account),
                )
                if v
            ]
            if extra:
                raise ValueError(f"with 'podSpec', put {', '.join(extra)} into the pod spec")
            if not isinstance(self.pod_spec.get("containers"), list) or not self.pod_spec.get(
                "containers"
            ):
                raise ValueError("'podSpec' needs a non-empty 'containers' list")
        elif not self.image or not self.image.strip():
            raise ValueError("'image' is empty")
        return self


class SoakCheckConfig(ConfigModel):
    """Watch the deployment stay healthy for a while."""

    duration: Duration
    """How long the deployment must stay healthy."""
    require_healthy: StrictBool = True
    """Fail as soon as the apps turn Degraded (when the context has a health probe)."""
    interval: Duration = Field(default=30, ge=1, json_schema_extra={"default": "30s"})
    """Time between two looks at the health during the soak."""


CheckKind = Literal["http", "prometheus", "job", "soak", "health"]
CHECK_KINDS: tuple[CheckKind, ...] = ("http", "prometheus", "job", "soak", "health")
"""Every check kind; `gates/checks` has one plugin per kind, registered with the model
`CHECK_SCHEMAS[kind]`."""


class CheckConfig(ConfigModel):
    """A verification run after deploying: exactly one of http, prometheus, job, soak or
    health."""

    http: HttpCheckConfig | None = None
    """An HTTP request."""
    prometheus: PrometheusCheckConfig | None = None
    """A Prometheus query."""
    job: JobCheckConfig | None = None
    """A Kubernetes Job."""
    soak: SoakCheckConfig | None = None
    """A healthy period."""
    health: HealthCheckConfig | None = None
    """The deployed apps' health, with a deadline."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        kinds = [k for k in CHECK_KINDS if getattr(self, k) is not None]
        if not kinds:
            raise ValueError("a check needs exactly one of: " + ", ".join(CHECK_KINDS))
        if len(kinds) > 1:
            raise ValueError("a check has exactly one kind, found: " + ", ".join(kinds))
        return self

    @property
    def kind(self) -> CheckKind:
        return next(k for k in CHECK_KINDS if getattr(self, k) is not None)

    @property
    def spec(self) -> ConfigModel:
        """The configuration of this check's kind (the plugin's parsed config)."""
        section = getattr(self, self.kind)
        assert isinstance(section, ConfigModel)
        return section


CHECK_SCHEMAS: dict[str, type[ConfigModel]] = {
    "http": HttpCheckConfig,
    "prometheus": PrometheusCheckConfig,
    "job": JobCheckConfig,
    "soak": SoakCheckConfig,
    "health": HealthCheckConfig,
}
"""The schema of each check kind (what `CHECKS` registers each plugin with)."""

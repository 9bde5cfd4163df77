"""SQLAlchemy models, one module per topic of the tables. The schema itself is owned by
the Alembic migrations in migrations/versions; these models must match them
(tests/integration/store checks that autogenerate finds nothing to do). Importing this
package registers every table on `Base.metadata`, which the migrations compare against."""

from shiplane.store.models.access import ApiToken, AuditEvent, WebSession
from shiplane.store.models.base import NAMING_CONVENTION, Base, BigIntPK, UTCDateTime
from shiplane.store.models.deliveries import HookDelivery, NotificationDelivery, SourceState
from shiplane.store.models.deploys import Deployment, DeployRun, Inventory
from shiplane.store.models.leases import LeaseRow
from shiplane.store.models.promotions import (
    ApprovalRow,
    FreezeRow,
    HoldRow,
    PromotionRow,
    PromotionStepRow,
    VerificationRow,
)
from shiplane.store.models.releases import Release, ReleaseArtifact, ReleaseLabel

__all__ = [
    "NAMING_CONVENTION",
    "ApiToken",
    "ApprovalRow",
    "AuditEvent",
    "Base",
    "BigIntPK",
    "DeployRun",
    "Deployment",
    "FreezeRow",
    "HoldRow",
    "HookDelivery",
    "Inventory",
    "LeaseRow",
    "NotificationDelivery",
    "PromotionRow",
    "PromotionStepRow",
    "Release",
    "ReleaseArtifact",
    "ReleaseLabel",
    "SourceState",
    "UTCDateTime",
    "VerificationRow",
    "WebSession",
]

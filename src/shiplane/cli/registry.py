"""Every `shiplane` command: where it lives and what it does in one line.

The root group lists commands from here without importing them; a command's module is
imported only when it runs. Top-level verbs that also live under a group (`approve` is
`promotion approve`) point at the same function: one home, one alias.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommandSpec:
    module: str
    attr: str
    summary: str
    long_help: str = ""


def _spec(module: str, attr: str, summary: str) -> CommandSpec:
    return CommandSpec(f"shiplane.cli.{module}", attr, summary)


COMMANDS: dict[str, CommandSpec] = {
    # Releases and promotions
    "release": _spec("cmd_release", "release_app", "Create and inspect releases."),
    "promote": _spec("cmd_promotion", "promote", "Promote a release into an environment."),
    "promotion": _spec("cmd_promotion", "promotion_app", "Inspect and steer promotions."),
    "approve": _spec("cmd_promotion", "approve", "Alias of `promotion approve`."),
    "reject": _spec("cmd_promotion", "reject", "Alias of `promotion reject`."),
    "explain": _spec("cmd_promotion", "explain", "Alias of `promotion explain`."),
    "approvals": _spec("cmd_views", "approvals", "Promotions waiting for your approval."),
    "rollback": _spec("cmd_promotion", "rollback", "Roll an app back in an environment."),
    "hold": _spec("cmd_promotion", "hold", "Stop auto-promotion of an app into an environment."),
    "unhold": _spec("cmd_promotion", "unhold", "Lift a hold (or --all in an environment)."),
    "holds": _spec("cmd_promotion", "holds", "List holds and freezes in force."),
    "freeze": _spec("cmd_promotion", "freeze", "Stop promotions into an environment."),
    "unfreeze": _spec("cmd_promotion", "unfreeze", "Lift a freeze."),
    # Observing
    "status": _spec("cmd_status", "status", "The apps x environments matrix."),
    "history": _spec("cmd_deploy", "history", "Deploys, syncs and rollbacks, newest first."),
    "audit": _spec("cmd_audit", "audit_app", "Read and verify the audit trail."),
    "notifications": _spec("cmd_notify", "notifications_app", "Notification deliveries."),
    "replicas": _spec("cmd_replicas", "replicas", "Live server replicas and their leases."),
    "events": _spec("cmd_watch", "events", "Print audit events as they happen."),
    "insights": _spec("cmd_insights", "insights", "DORA metrics and where releases wait."),
    "source": _spec("cmd_source", "source_app", "Artifact sources and what they found."),
    # Deploying
    "sync": _spec("cmd_deploy", "sync", "Re-apply what git says to an environment."),
    "diff": _spec("cmd_deploy", "diff", "What a sync would change, or how two envs differ."),
    "health": _spec("cmd_health", "health", "Health of live apps, or of objects in a file."),
    # Connecting and administration
    "login": _spec("cmd_login", "login", "Check a token and store it as a named context."),
    "context": _spec("cmd_context", "context_app", "List and switch named contexts."),
    "token": _spec("cmd_token", "token_app", "Manage API tokens."),
    "serve": _spec("cmd_serve", "serve", "Run the API server and the web UI."),
    "cluster": _spec("cmd_cluster", "cluster", "Register target clusters (add, list, remove)."),
    "completion": _spec("cmd_completion", "completion", "Print a shell completion script."),
    # Local tools (no server)
    "init": _spec("cmd_config", "init", "Scaffold a GitOps repository."),
    "validate": _spec("cmd_config", "validate", "Check a shiplane.yaml."),
    "schema": _spec("cmd_config", "schema", "Print the JSON Schema of shiplane.yaml."),
    "import": _spec("cmd_import", "import_app", "Propose shiplane.yaml from Flux or Argo CD."),
    "localcluster": _spec("cmd_localcluster", "localcluster", "Local Kubernetes control planes."),
    "demo": _spec("cmd_demo", "demo", "Run the end-to-end demo on local clusters."),
}

GROUP_HELP: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Releases and promotions", (
        "release", "promote", "promotion", "approve", "reject", "explain", "approvals",
        "rollback",
        "hold", "unhold", "holds", "freeze", "unfreeze",
    )),
    ("Observing", (
        "status", "health", "events", "history", "audit", "insights", "notifications",
        "replicas", "source",
    )),
    ("Deploying", ("sync", "diff")),
    ("Connecting and administration", (
        "login", "context", "token", "serve", "cluster", "completion",
    )),
    ("Local tools (no server needed)", (
        "init", "validate", "schema", "import", "localcluster", "demo",
    )),
)  # fmt: skip

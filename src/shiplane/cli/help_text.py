"""What `--help` shows besides each command's docstring: readable placeholders (`ENV`,
`APP`, `RELEASE`, never a Python type) and one example per command.

Kept in one table so that a new command without an example fails a unit test instead
of shipping a bare help page.
"""

from __future__ import annotations

from typing import Any

# Parameter name -> placeholder. A parameter missing here shows its name in capitals.
PLACEHOLDERS: dict[str, str] = {
    "environment": "ENV", "env": "ENV", "envs": "ENV", "app": "APP", "only_app": "APP",
    "release": "RELEASE", "ref": "RELEASE", "promotion_id": "ID", "delivery_id": "ID",
    "token_id": "ID", "check": "CHECK", "reason": "REASON", "comment": "COMMENT", "limit": "N",
    "cursor": "CURSOR", "since": "TIME", "until": "TIME", "label": "KEY=VALUE",
    "alias": "ALIAS", "name": "NAME", "role": "ROLE", "group": "GROUP", "status": "STATUS",
    "state": "STATE", "actor": "NAME", "action": "ACTION", "promotion": "ID",
    "server": "URL", "token": "TOKEN", "file": "FILE", "directory": "DIR", "config": "FILE",
    "repo": "URL", "branch": "BRANCH", "db": "URL", "listen": "HOST:PORT", "data_dir": "DIR",
    "health_timeout": "SECONDS", "lease_ttl": "SECONDS", "replica_id": "NAME", "nodes": "N",
    "apiserver_port": "PORT", "timeout": "SECONDS", "shell": "SHELL", "output": "FORMAT",
    "after": "SEQ", "interval": "SECONDS", "against": "RELEASE",
}  # fmt: skip

EXAMPLES: dict[str, str] = {
    "release": "shiplane release create web=registry.example/shop/web:1.4.2",
    "release create": "shiplane release create web=registry.example/shop/web:1.4.2 "
    "api=registry.example/shop/api:1.4.2 --alias 1.4.2 -l branch=main",
    "release list": "shiplane release list --app web --limit 10",
    "release show": "shiplane release show 1.4.2",
    "release timeline": "shiplane release timeline 1.4.2",
    "release diff": "shiplane release diff 1.4.1 1.4.2 --env prod",
    "approvals": "shiplane approvals",
    "promote": (
        "shiplane promote 1.4.2 --to prod --reason 'weekly release' --wait\n"
        "  shiplane promote 1.4.2 --to prod --dry-run   # the gates and the diff, nothing created"
    ),
    "promotion": "shiplane promotion list --open",
    "promotion list": "shiplane promotion list --env prod --state Waiting",
    "promotion show": "shiplane promotion show 01JX3K4M5N",
    "promotion explain": "shiplane promotion explain 01JX3K4M5N",
    "promotion approve": "shiplane promotion approve 01JX3K4M5N --comment 'checked the diff'",
    "promotion reject": "shiplane promotion reject 01JX3K4M5N --reason 'wrong build'",
    "promotion abort": "shiplane promotion abort 01JX3K4M5N --reason 'superseded by 1.4.3'",
    "promotion resume": "shiplane promotion resume 01JX3K4M5N   # a canary's pause ends",
    "promotion skip-step": "shiplane promotion skip-step 01JX3K4M5N",
    "promotion retry": "shiplane promotion retry 01JX3K4M5N",
    "promotion resolve": "shiplane promotion resolve 01JX3K4M5N error-rate --pass",
    "promotion watch": "shiplane promotion watch 01JX3K4M5N",
    "approve": "shiplane approve 01JX3K4M5N --comment 'checked the diff'",
    "reject": "shiplane reject 01JX3K4M5N --reason 'wrong build'",
    "explain": "shiplane explain 01JX3K4M5N",
    "rollback": "shiplane rollback prod web --reason 'errors after 1.4.2'",
    "hold": "shiplane hold prod web --reason 'investigating'",
    "unhold": "shiplane unhold prod web   # or: shiplane unhold staging --all",
    "holds": "shiplane holds --env prod -o json",
    "freeze": "shiplane freeze prod --reason 'end-of-year freeze'",
    "unfreeze": "shiplane unfreeze prod",
    "status": "shiplane status -o wide",
    "history": "shiplane history prod web --limit 20",
    "health": "kubectl get deploy web -o yaml | shiplane health -f -",
    "audit": "shiplane audit list --env prod --since 2026-05-01",
    "audit list": "shiplane audit list --env prod --since 2026-05-01",
    "audit verify": "shiplane audit verify",
    "audit export": "shiplane audit export > audit.jsonl",
    "notifications": "shiplane notifications list --status failed",
    "source": "shiplane source list",
    "source list": "shiplane source list -o wide",
    "source show": "shiplane source show web-image",
    "source refresh": "shiplane source refresh web-image",
    "notifications list": "shiplane notifications list --status failed",
    "notifications show": "shiplane notifications show dlv-0193a1b2c3d4e5f60718293a4b5c6d7e",
    "notifications retry": "shiplane notifications retry dlv-0193a1b2c3d4e5f60718293a4b5c6d7e",
    "replicas": "shiplane replicas -o wide",
    "insights": "shiplane insights --env prod --since 7d -o wide",
    "events": "shiplane events --env prod --action promotion.",
    "sync": "shiplane sync staging web",
    "diff": "shiplane diff staging web   |   shiplane diff --envs staging prod",
    "login": "shiplane login http://127.0.0.1:8080 --token shp_... --name local",
    "context": "shiplane context use local",
    "context list": "shiplane context list",
    "context use": "shiplane context use local",
    "context delete": "shiplane context delete old-server",
    "token": "shiplane token create --role promoter --env dev --name ci",
    "token create": "shiplane token create --role promoter --env dev --name ci",
    "token list": "shiplane token list",
    "token revoke": "shiplane token revoke tok-3f9c2a41d0e5b6c7",
    "serve": "shiplane serve --repo ./shop --listen 127.0.0.1:8080",
    "completion": "source <(shiplane completion bash)",
    "init": "shiplane init shop",
    "validate": "shiplane validate shop/shiplane.yaml",
    "schema": "shiplane schema > shiplane.schema.json",
    "import": "shiplane import flux --kubeconfig ~/.kube/config --cluster nonprod",
    "import flux": (
        "shiplane import flux --kubeconfig ~/.kube/config --kube-context nonprod "
        "--cluster nonprod > proposal.yaml"
    ),
    "import argocd": (
        "shiplane import argocd --kubeconfig ~/.kube/config --kube-context nonprod "
        "--cluster nonprod > proposal.yaml"
    ),
    "cluster": "shiplane cluster add prod-admin --name prod --namespace shop",
    "cluster add": "shiplane cluster add prod-admin --name prod --namespace shop -n shop-canary",
    "cluster list": "shiplane cluster list -o json",
    "cluster remove": "shiplane cluster remove prod",
    "localcluster": "shiplane localcluster up dev",
    "localcluster build": "shiplane localcluster build",
    "localcluster up": "shiplane localcluster up dev --nodes 3",
    "localcluster down": "shiplane localcluster down dev",
    "localcluster list": "shiplane localcluster list",
    "localcluster kubeconfig": "shiplane localcluster kubeconfig dev",
    "localcluster env": 'eval "$(shiplane localcluster env dev)"',
    "localcluster kubectl": "shiplane localcluster kubectl dev get pods -A",
    "demo": "shiplane demo",
}


def placeholder(name: str) -> str:
    return PLACEHOLDERS.get(name, name.upper())


def polish(command: Any, path: tuple[str, ...]) -> None:
    """Give every parameter of `command` (and its subcommands) a readable placeholder
    unless it has one, and append the command's example to its help."""
    for param in command.params:
        takes_value = not getattr(param, "is_flag", False) and not getattr(param, "count", False)
        if takes_value and param.metavar is None and param.name:
            metavar = placeholder(param.name)
            nargs = getattr(param, "nargs", 1)
            if param.param_type_name == "argument" and (nargs == -1 or param.multiple):
                metavar += "..."
            param.metavar = metavar
        if param.param_type_name == "argument":
            _plain_argument(param)
    example = EXAMPLES.get(" ".join(path))
    if example and "Example:" not in (command.epilog or ""):
        command.epilog = f"Example: {example}"
    for name, sub in (getattr(command, "commands", None) or {}).items():
        polish(sub, (*path, name))


def _plain_argument(param: Any) -> None:
    """Show an argument as `RELEASE` (required) or `[APP]` in the usage line and without
    a type after its name in the list (Typer would print `{RELEASE}` and `RELEASE <str>`)."""
    shown = param.metavar or str(param.name).upper()
    usage = shown if param.required else f"[{shown}]"
    param.get_usage_pieces = lambda _ctx: [usage]
    param.display_type_rich = lambda ctx: None

"""A small project for API tests: three environments in a line, two apps."""

PROJECT_YAML = """\
apiVersion: shiplane/v1alpha1
project: shop
clusters:
  local: {inCluster: true}
environments:
  dev: {cluster: local, namespace: dev}
  staging: {cluster: local, namespace: stg, after: [dev]}
  prod: {cluster: local, namespace: prod, after: [staging]}
apps:
  checkout:
    images: [registry.example/shop/checkout]
    manifests: {path: apps/checkout}
  payments:
    images: [registry.example/shop/payments, registry.example/shop/payments-worker]
    manifests: {path: apps/payments}
"""

"""Artifact sources: image repositories, Helm charts and git refs that Shiplane watches
to assemble releases by itself (docs/sources.md).

- `plugins`: the source kinds (`image`, `chart`, `git`), one registry, each with its
  config schema from `config.models.sources`;
- `selectors`: which tag a source picks (pure);
- `registry`: the OCI distribution client (tags, HEAD for digests, auth, rate limits);
- `credentials`: registry credentials from docker config.json, a file or the environment.
"""

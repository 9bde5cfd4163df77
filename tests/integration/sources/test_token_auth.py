"""The bearer-token challenge flow against a real registry (`auth: token`) and a token
service beside it on the same host."""

from __future__ import annotations

import pytest

from shiplane.sources.credentials import Credentials
from shiplane.sources.registry import RegistryClient, RegistryError
from tests.support.token_registry import TokenRegistry

pytestmark = pytest.mark.anyio


async def test_tags_and_digest_through_a_bearer_token(token_registry: TokenRegistry) -> None:
    registry = token_registry.registry
    digest = registry.push_image("tok/web", "1.0.0")
    creds = Credentials(registry.user, registry.password)
    async with RegistryClient(registry.host, credentials=creds, ca_file=str(registry.ca_file)) as c:
        assert await c.list_tags("tok/web") == ["1.0.0"]
        assert await c.head_digest("tok/web", "1.0.0") == digest
        # One token for the scope: challenge, token, retry, then one request per call.
        assert c.requests == 4
    issued = [
        p for p in token_registry.tokens_issued if "tok%2Fweb%3Apull" in p.replace(":", "%3A")
    ]
    assert issued, token_registry.tokens_issued
    wrong = Credentials(registry.user, "not-it-at-all")
    async with RegistryClient(registry.host, credentials=wrong, ca_file=str(registry.ca_file)) as c:
        with pytest.raises(RegistryError, match="token service refused the credentials"):
            await c.list_tags("tok/web")

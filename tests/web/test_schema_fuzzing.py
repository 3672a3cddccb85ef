"""Schema fuzzing: schemathesis against a running ``imago-fed serve`` on PostgreSQL.

The server is the real command on a scratch database, seeded with a few
groups and a proposal so that most generated requests reach the use cases
rather than a 404. Schemathesis reads the served OpenAPI document, generates
valid and invalid requests for every operation (examples at the edges of
each schema, then random ones), sends them with the admin token, and fails
on any 5xx, any status the document does not declare, any response not
matching its declared schema or content type, invalid data accepted, a
wrong answer to an undeclared method, and a route that ignores the token.

Bounded: a fixed number of examples per operation and a fixed seed (the run
is reproducible; ``FUZZ_SEED`` and ``FUZZ_EXAMPLES`` explore further), about
a minute on a quiet machine.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.commands.test_serve import ready, running_server
from tests.conftest import TEST_ADMIN_TOKEN
from tests.support import free_port, wait_until

AUTH = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}
CHECKS = ",".join(
    [
        "not_a_server_error", "status_code_conformance", "content_type_conformance",
        "response_headers_conformance", "response_schema_conformance",
        "negative_data_rejection", "missing_required_header", "unsupported_method",
        "allow_header_conformance", "use_after_free", "ignored_auth",
    ]
)  # fmt: skip
# Known identifiers most of the time, anything the schema allows otherwise.
CONFIG = """\
[dictionaries.slugs]
values = ["garden", "orchard"]
[dictionaries.ids]
values = [1, 2]
[parameters]
"path.slug" = { dictionary = "slugs", probability = 0.7 }
"path.proposal_id" = { dictionary = "ids", probability = 0.7 }
[[operations]]
include-name = "DELETE /api/v1/groups/{slug}"
parameters = { "path.slug" = "doomed" }
"""


async def seed(base: str) -> None:
    async with httpx.AsyncClient(base_url=base + "/api/v1", headers=AUTH, timeout=30) as api:
        for slug in ("garden", "orchard", "doomed"):
            created = await api.post("/groups", json={"slug": slug, "name": slug.title()})
            assert created.status_code == 201, created.text
        proposal = await api.post(
            "/groups/garden/proposals",
            json={"action": "publish", "title": "A first post", "duration_s": 3600},
        )
        assert proposal.status_code == 201, proposal.text


def failures(output: str) -> str:
    """The report's FAILURES section (or its tail), for the assertion message."""
    match = re.search(r"=+ FAILURES =+.*?(?==+ WARNINGS|=+ SUMMARY)", output, re.S)
    return match.group(0) if match else output[-6000:]


async def test_admin_api_holds_under_schema_fuzzing(migrated_db: str, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "IMAGO_DATABASE_URL": migrated_db,
        "IMAGO_INSTANCE_DOMAIN": f"127.0.0.1:{port}",
        "IMAGO_INSTANCE_SCHEME": "http",
        "IMAGO_FEDERATION_WORKERS_IN_SERVE": "false",
    }
    with running_server(tmp_path, port, **env):
        assert await wait_until(lambda: ready(base), timeout=60), "the server did not start"
        await seed(base)
        config = tmp_path / "schemathesis.toml"
        config.write_text(CONFIG)
        command = [
            sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
            f"{base}/api/v1/openapi.json", "--header", f"Authorization: Bearer {TEST_ADMIN_TOKEN}",
            "--checks", CHECKS, "--phases", "examples,coverage,fuzzing",
            "--max-examples", os.environ.get("FUZZ_EXAMPLES", "20"),
            "--seed", os.environ.get("FUZZ_SEED", "1"),
            "--workers", "2", "--request-timeout", "30", "--no-color",
        ]  # fmt: skip
        run = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
        )
    output = run.stdout + run.stderr
    assert run.returncode == 0, failures(output)
    assert re.search(r"Tested: +\d+", output), output[-3000:]
    log = (tmp_path / f"serve-{port}.log").read_text()
    assert "unhandled error" not in log

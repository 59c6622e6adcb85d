"""The template's references (``Ref``, ``Fn::GetAtt``, pseudo parameters) resolved to the local
stack's resources, and the environment each function's processes get (``local.stack`` uses both)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ticket_enhancer_dev.local.emulator import DUMMY_CREDENTIALS, REGION, STACK_NAME, Resources, local_name
from ticket_enhancer_dev.local.http_api import ACCOUNT_ID
from ticket_enhancer_dev.local.launcher import CODE_DIRS, code_path
from ticket_enhancer_dev.local.template import Function, Template, TemplateError, resolve

PSEUDO_PARAMETERS = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": STACK_NAME,
}


def lookup(template: Template, resources: Resources, logical_id: str, attribute: str | None) -> str:
    """What ``logical_id`` (``Ref``) or its ``attribute`` (``Fn::GetAtt``) is locally."""
    tables, queues = resources.tables, resources.queues
    if attribute is None:
        refs: dict[str, str] = {
            **PSEUDO_PARAMETERS,
            **template.parameters,
            **tables,
            **{key: queue.url for key, queue in queues.items()},
            **{key: local_name(key) for key in template.functions},
            **resources.buckets,
        }
        found = refs.get(logical_id)
    else:
        attributes: dict[tuple[str, str], str] = {
            **{
                (key, "Arn"): f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{n}" for key, n in tables.items()
            },
            **{(key, "Arn"): queue.arn for key, queue in queues.items()},
            **{(key, "QueueName"): queue.name for key, queue in queues.items()},
            **{(key, "Arn"): f"arn:aws:s3:::{name}" for key, name in resources.buckets.items()},
        }
        found = attributes.get((logical_id, attribute))
    if found is None:
        where = f"{logical_id}.{attribute}" if attribute else logical_id
        raise TemplateError(f"cannot resolve {where} locally")
    return found


def function_env(
    function: Function,
    lookup: Callable[[str, str | None], str],
    *,
    endpoint_url: str,
    time_scale: float,
    root: Path,
) -> dict[str, str]:
    """The environment of ``function``'s processes: its declared variables (references resolved
    with ``lookup``), dummy credentials and the emulator's endpoint, Lambda's own variables."""
    env = {key: resolve(value, lookup) for key, value in function.env.items()}
    env.update(DUMMY_CREDENTIALS)
    env.update(
        PATH=os.environ.get("PATH", "/usr/bin:/bin"),
        LANG="C.UTF-8",
        PYTHONUTF8="1",
        PYTHONUNBUFFERED="1",
        TZ=":UTC",
        AWS_ENDPOINT_URL=endpoint_url,
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,  # never the developer's profiles or real credentials
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_LAMBDA_FUNCTION_NAME=local_name(function.logical_id),
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(function.memory),
        AWS_LAMBDA_FUNCTION_TIMEOUT=str(function.timeout),
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        _HANDLER=function.handler,
        LAMBDA_TASK_ROOT=str(function.code_dir),
        TICKET_ENHANCER_LOCAL="1",
        TICKET_ENHANCER_TIME_SCALE=f"{time_scale:g}",
        # Then what `local up` itself imports from: a plugin package installed outside the
        # environment (`pip install --target`) serves locally as the CLI sees it; in Lambda,
        # `sam build` installs it into the function (its generated requirements.txt).
        PYTHONPATH=os.pathsep.join([str(function.code_dir), code_path(root), *_extra_paths(root)]),
    )
    if "PYTHONDONTWRITEBYTECODE" in os.environ:
        env["PYTHONDONTWRITEBYTECODE"] = os.environ["PYTHONDONTWRITEBYTECODE"]
    return env


def _extra_paths(root: Path) -> list[str]:
    """This process's PYTHONPATH entries, other than the project's own code (shared/, dev/)."""
    own = {(root / name).resolve() for name in CODE_DIRS}
    entries = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    return [entry for entry in entries if entry and Path(entry).resolve() not in own]

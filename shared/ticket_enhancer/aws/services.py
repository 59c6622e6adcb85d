"""The operations our functions call, with botocore's method names and keyword arguments.

Each class is a drop-in for the botocore client of its service as far as these methods go, so
code typed against ``mypy_boto3_*`` clients runs on either. Blob fields are not used by any of
these calls (DynamoDB items hold strings, numbers, lists and maps here).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ticket_enhancer.aws.jsonapi import JsonApiClient


class _Facade:
    def __init__(self, api: JsonApiClient) -> None:
        self._api = api

    def close(self) -> None:
        self._api.close()


class DynamoDB(_Facade):
    def get_item(self, **params: Any) -> dict[str, Any]:
        return self._api.call("GetItem", params)

    def put_item(self, **params: Any) -> dict[str, Any]:
        return self._api.call("PutItem", params)

    def update_item(self, **params: Any) -> dict[str, Any]:
        return self._api.call("UpdateItem", params)

    def delete_item(self, **params: Any) -> dict[str, Any]:
        return self._api.call("DeleteItem", params)

    def query(self, **params: Any) -> dict[str, Any]:
        return self._api.call("Query", params)


class SQS(_Facade):
    def send_message(self, **params: Any) -> dict[str, Any]:
        return self._api.call("SendMessage", params)


class SecretsManager(_Facade):
    def get_secret_value(self, **params: Any) -> dict[str, Any]:
        return self._api.call("GetSecretValue", params)


class BedrockRuntime(_Facade):
    def converse(self, *, modelId: str, **params: Any) -> dict[str, Any]:
        return self._api.call("Converse", params, path=f"/model/{quote(modelId, safe='')}/converse")

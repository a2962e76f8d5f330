"""EC2 Query-API responses and errors in AWS's own XML, serialized from botocore's model.

moto already carries a serializer driven by botocore's service model (the same model the
AWS CLI and boto3 parse with), so the calls netemu answers itself (Reachability Analyzer)
and the errors of netemu's own validation come out in exactly the shapes clients expect.
"""

from __future__ import annotations

import uuid
from typing import Any

from botocore.model import OperationModel, ServiceModel
from moto.core.serialize import EC2Serializer, SerializationContext
from moto.core.utils import get_service_model
from moto.ec2.exceptions import EC2ClientError

from netemu.errors import NetemuError

Response = tuple[int, dict[str, str], str]


class AwsError(NetemuError):
    """A call refused with an AWS error code (moto's own refusals come back from moto)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _service() -> ServiceModel:
    return get_service_model("ec2")


def _serializer(action: str) -> EC2Serializer:
    operation: OperationModel = _service().operation_model(action)
    return EC2Serializer(operation, context=SerializationContext(request_id=str(uuid.uuid4())))


def result(action: str, body: dict[str, Any]) -> Response:
    """The 200 response of `action` with `body` in the output shape's member names."""
    out = _serializer(action).serialize(body)
    return int(out["status_code"]), dict(out["headers"]), str(out["body"])


def error(action: str, code: str, message: str, status: int = 400) -> Response:
    """An AWS error response (`<Response><Errors><Error><Code>…`), as EC2 sends it."""
    try:
        serializer = _serializer(action)
    except Exception:  # an action botocore does not know: serialize as a generic call
        serializer = _serializer("DescribeVpcs")
    out = serializer.serialize(EC2ClientError(code, message))
    return status, dict(out["headers"]), str(out["body"])

"""The object-storage media backend: an S3-compatible bucket (AWS S3, MinIO, Aliyun OSS, Tencent COS…)
through boto3, selected by GRIDBOT_MEDIA_STORE=s3. boto3 is imported only when this backend is used."""

from __future__ import annotations

from bot.media.blobs import Blob, StoreError

TIMEOUTS = {"connect_timeout": 5, "read_timeout": 30}
RETRIES = {"max_attempts": 3, "mode": "standard"}  # a failure after these is retried by the outbox


class S3Store:
    """Blobs as objects `<key>` in one bucket, signed with SigV4."""

    def __init__(self, *, bucket: str, access_key: str, secret_key: str, endpoint_url: str | None = None,
                 region: str = "us-east-1", addressing: str = "path") -> None:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self._errors = (BotoCoreError, ClientError)
        self._client_error = ClientError
        self._client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": addressing}, retries=RETRIES, **TIMEOUTS))

    def _call(self, operation: str, **params) -> dict | None:
        """One S3 call on the bucket; None when the key is not there, StoreError when the call failed."""
        try:
            return getattr(self._client, operation)(Bucket=self.bucket, **params)
        except self._errors as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
            if isinstance(error, self._client_error) and code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StoreError(f"{self.describe()}: {error}") from error

    def put(self, key: str, content: bytes, content_type: str) -> None:
        self._call("put_object", Key=key, Body=content, ContentType=content_type)

    def get(self, key: str) -> Blob | None:
        found = self._call("get_object", Key=key)
        if found is None:
            return None
        return Blob(found["Body"].read(), found.get("ContentType") or "application/octet-stream")

    def exists(self, key: str) -> bool:
        return self._call("head_object", Key=key) is not None

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=key)

    def describe(self) -> str:
        return f"bucket {self.bucket} at {self.endpoint_url or 'AWS S3'}"

"""An S3-compatible server for tests: moto's server mode, real HTTP on a free loopback port."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
import httpx
from botocore.config import Config
from moto.server import ThreadedMotoServer


@dataclass(frozen=True)
class Bucket:
    """A bucket on a test server and the only key pair allowed into it."""

    url: str
    name: str
    access_key: str
    secret_key: str


@contextmanager
def s3_server() -> Iterator[str]:
    """Yield the endpoint URL of a fresh S3 server (empty: no buckets) until the block ends."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _media_policy(bucket: str) -> str:
    """What docs/operations.md §4a tells operators to give gridbot: objects of its bucket, nothing else."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        "Resource": f"arn:aws:s3:::{bucket}/*"}]})


@contextmanager
def signed_bucket(name: str) -> Iterator[Bucket]:
    """A server that checks every request's SigV4 signature and IAM policy (moto's auth mode) with one
    bucket, and an IAM user's key pair allowed only Get/Put/DeleteObject in it."""
    with s3_server() as url:
        setup = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": "setup",
                 "aws_secret_access_key": "setup"}
        httpx.post(f"{url}/moto-api/reset-auth", content=b"4").raise_for_status()  # the 4 set-up calls below
        try:
            iam = boto3.client("iam", **setup)
            iam.create_user(UserName="gridbot")
            key = iam.create_access_key(UserName="gridbot")["AccessKey"]
            iam.put_user_policy(UserName="gridbot", PolicyName="media", PolicyDocument=_media_policy(name))
            boto3.client("s3", config=Config(s3={"addressing_style": "path"}), **setup).create_bucket(Bucket=name)
            yield Bucket(url, name, key["AccessKeyId"], key["SecretAccessKey"])
        finally:  # moto's auth switch is process-wide: later servers in this process take any key again
            httpx.post(f"{url}/moto-api/reset-auth", content=b"inf")

"""Sign test cases with botocore's own SigV4Auth and print the results as JSON.

stdin: a JSON list of cases {method, url, params: [[k, v]], headers: [[k, v]],
body, service, region, access_key, secret_key, token, timestamp (YYYYmmddTHHMMSSZ)}.
stdout: a JSON list of {authorization, canonical_request, x_amz_date, token}.
"""
import datetime
import json
import sys

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

results = []
for case in json.load(sys.stdin):
    fixed = datetime.datetime.strptime(case["timestamp"], "%Y%m%dT%H%M%SZ")
    botocore.auth.get_current_datetime = lambda fixed=fixed: fixed
    request = AWSRequest(
        method=case["method"],
        url=case["url"],
        params=[tuple(p) for p in case["params"]] or None,
        headers={k: v for k, v in case["headers"]},
        data=case["body"].encode("utf-8"),
    )
    creds = Credentials(case["access_key"], case["secret_key"], case.get("token"))
    signer = botocore.auth.SigV4Auth(creds, case["service"], case["region"])
    signer.add_auth(request)
    results.append({
        "authorization": request.headers["Authorization"],
        "canonical_request": signer.canonical_request(request),
        "x_amz_date": request.headers["X-Amz-Date"],
        "token": request.headers.get("X-Amz-Security-Token"),
    })
json.dump(results, sys.stdout)

#!/bin/sh
# AWS benchmark: API calls and wall time for "ensure account state, launch 4
# instances, wait until running, terminate, wait until terminated" against a
# local moto server, counted by deploy/aws/fault-proxy.py in pass-through mode.
# Usage: Benchmarks/aws/run.sh [path/to/automation]   (default .build-aws/release/automation)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$ROOT/.build-aws/release/automation}
WORK=$(mktemp -d)
MOTO_PID= PROXY_PID=
cleanup() {
    [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null || true
    [ -n "$MOTO_PID" ] && kill "$MOTO_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

start_server() { # script args... -> sets PORT, PID
    script=$1
    shift
    FIXTURE_WAIT_FOR_SIGNAL=1 python3 "$ROOT/deploy/aws/$script" "$@" < /dev/null > "$WORK/out.$script" 2>/dev/null &
    PID=$!
    while ! grep -q PORT "$WORK/out.$script" 2>/dev/null; do sleep 0.1; done
    PORT=$(awk '{print $2}' "$WORK/out.$script")
}
elapsed() { awk "BEGIN { printf \"%.2f\", $2 - $1 }"; }

count() { curl -s "http://127.0.0.1:$PROXY_PORT/__count"; }

MOTO_AMIS_PATH="$ROOT/deploy/aws/moto-amis.json" MOTO_IAM_LOAD_MANAGED_POLICIES=true start_server moto-server.py
MOTO_PID=$PID MOTO_PORT=$PORT
start_server fault-proxy.py "http://127.0.0.1:$MOTO_PORT" ""
PROXY_PID=$PID PROXY_PORT=$PORT

export AWS_ACCESS_KEY_ID=AKIAEXAMPLE AWS_SECRET_ACCESS_KEY=s AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL="http://127.0.0.1:$PROXY_PORT"
COMMON="--state-path $WORK/state --namespace bench --wait-timeout 2m"

scenario() { # label
    before=$(count)
    t0=$(date +%s.%N)
    $BIN aws launch $COMMON --count 4 --instance-type t3.micro --image ami-0d3b1e4a5c6f70002 --ssh-cidr 192.0.2.1/32 --ttl 1h > /dev/null 2>&1
    t1=$(date +%s.%N)
    mid=$(count)
    $BIN terminate-ec2-instances $COMMON > /dev/null 2>&1
    t2=$(date +%s.%N)
    after=$(count)
    printf '%s: launch %d calls %ss, terminate %d calls %ss, total %d calls %ss\n' "$1" \
        $((mid - before)) "$(elapsed "$t0" "$t1")" $((after - mid)) "$(elapsed "$t1" "$t2")" \
        $((after - before)) "$(elapsed "$t0" "$t2")"
}

# moto builds its IAM (managed policies) and EC2 (images, instance types) backends on first use,
# which takes seconds; do that outside the measurement, directly against moto.
curl -s -o /dev/null -X POST "http://127.0.0.1:$MOTO_PORT/" -d 'Action=ListRoles&Version=2010-05-08' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0'
curl -s -o /dev/null -X POST "http://127.0.0.1:$MOTO_PORT/" -d 'Action=DescribeInstances&Version=2016-11-15' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-west-2/ec2/aws4_request, SignedHeaders=host, Signature=0'

scenario "automation, empty account (creates key pair, security group, IAM)"
for i in 1 2 3; do scenario "automation, account state recorded (run $i)"; done
$BIN purge-ec2-resources $COMMON > /dev/null 2>&1

before=$(count)
secs=$(python3 "$ROOT/Benchmarks/aws/hgautomation_style.py" "http://127.0.0.1:$PROXY_PORT")
after=$(count)
printf 'hgautomation-style boto3 baseline, empty account: total %d calls %ss\n' $((after - before)) "$secs"
before=$(count)
secs=$(python3 "$ROOT/Benchmarks/aws/hgautomation_style.py" "http://127.0.0.1:$PROXY_PORT")
after=$(count)
printf 'hgautomation-style boto3 baseline, second run: total %d calls %ss\n' $((after - before)) "$secs"

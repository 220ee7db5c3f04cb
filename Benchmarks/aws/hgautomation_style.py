#!/usr/bin/env python3
"""Baseline for the AWS benchmark: the original tool's call pattern, with boto3.

Mirrors hgautomation/aws.py (Mercurial 5.8.1) for "ensure account state, launch
4 instances, wait until running, terminate, wait until terminated": every
command reconciles key pairs, security groups and IAM by listing everything,
launches through ec2.create_instances, polls each instance's address every
2 s, then terminates and waits per instance. Key pair creation by AWS and the
ssh-keygen/openssl fingerprint steps are replaced by an imported key (the
API calls are what is measured). Usage: hgautomation_style.py ENDPOINT_URL
"""
import sys
import time

import boto3

ENDPOINT = sys.argv[1]
PREFIX = "hg-"
kw = dict(endpoint_url=ENDPOINT, region_name="us-west-2", aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="s")
ec2 = boto3.resource("ec2", **kw)
ec2client = boto3.client("ec2", **kw)
iamclient = boto3.client("iam", **kw)
iamresource = boto3.resource("iam", **kw)
PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFZDQVOvOcstLxBdAai0+31zWFXiea9wTRaOxCrzu3pU"


def ensure_key_pairs():
    remote = {k.name for k in ec2.key_pairs.all() if k.name.startswith(PREFIX)}
    if PREFIX + "automation" not in remote:
        ec2.import_key_pair(KeyName=PREFIX + "automation", PublicKeyMaterial=PUB.encode())


def ensure_security_groups():
    existing = {g.group_name: g for g in ec2.security_groups.all() if g.group_name.startswith(PREFIX)}
    if PREFIX + "linux-dev-1" not in existing:
        g = ec2.create_security_group(GroupName=PREFIX + "linux-dev-1", Description="linux")
        g.authorize_ingress(IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                            "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        existing[PREFIX + "linux-dev-1"] = g
    return existing


def ensure_iam_state():
    profiles = {p.name: p for p in iamresource.instance_profiles.all() if p.name.startswith(PREFIX)}
    roles = {r.name: r for r in iamresource.roles.all() if r.name.startswith(PREFIX)}
    if PREFIX + "ephemeral-ec2-1" not in profiles:
        iamclient.create_instance_profile(InstanceProfileName=PREFIX + "ephemeral-ec2-1")
        iamclient.get_waiter("instance_profile_exists").wait(InstanceProfileName=PREFIX + "ephemeral-ec2-1")
    if PREFIX + "ephemeral-ec2-role-1" not in roles:
        iamclient.create_role(RoleName=PREFIX + "ephemeral-ec2-role-1", AssumeRolePolicyDocument="{}")
        iamclient.get_waiter("role_exists").wait(RoleName=PREFIX + "ephemeral-ec2-role-1")
        iamresource.Role(PREFIX + "ephemeral-ec2-role-1").attach_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
    profile = iamresource.InstanceProfile(PREFIX + "ephemeral-ec2-1")
    if not [r for r in profile.roles]:
        profile.add_role(RoleName=PREFIX + "ephemeral-ec2-role-1")


def main():
    start = time.monotonic()
    ensure_key_pairs()
    groups = ensure_security_groups()
    ensure_iam_state()
    instances = ec2.create_instances(ImageId="ami-0d3b1e4a5c6f70002", InstanceType="t3.micro", MinCount=4, MaxCount=4,
                                     KeyName=PREFIX + "automation", SecurityGroupIds=[groups[PREFIX + "linux-dev-1"].id],
                                     InstanceInitiatedShutdownBehavior="terminate")
    for instance in instances:  # wait_for_ip_addresses
        while True:
            instance.reload()
            if instance.public_ip_address:
                break
            time.sleep(2)
    for instance in instances:
        instance.terminate()
    for instance in instances:
        instance.wait_until_terminated()
    print(f"{time.monotonic() - start:.2f}")


main()

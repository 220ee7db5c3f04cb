#!/usr/bin/env python3
"""A simulated EC2 on this machine: moto for the API, a machine per instance.

    testcloud.py serve DIR    (started by ./up, which returns once it is ready)

Serves moto on a free loopback port and, every half second, makes what moto
reports real: each pending or running instance gets a machine (machine.sh:
its own network namespace, an overlay root file system, its user data's
boothook applied with a metadata service answering its launch index, the key
pair authorised for the login user, sshd); a stopped instance's machine is
shut down with its disk kept; a terminated one is removed. An image made
from an instance (CreateImage) captures that instance's disk, and instances
launched from the image start with it. A machine that powers itself off
(`poweroff` or `shutdown -h` inside it, which machine.sh records in
/var/lib/testcloud/poweroff) is stopped or terminated through moto, as its
InstanceInitiatedShutdownBehavior says, as EC2 does.

Instance addresses (public and private, as moto reports them) are written to
DIR/address-map for the controller's $AUTOMATION_ADDRESS_MAP. DIR/env holds
the export lines a shell needs. SIGTERM (./down) removes every machine.
"""
import base64
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

import boto3

# As EC2 does, RunInstances refuses a key pair that does not exist (moto reads this at import):
# an instance booted without its key could never be reached.
os.environ.setdefault("MOTO_ENABLE_KEYPAIR_VALIDATION", "true")
from moto.moto_server.threaded_moto_server import ThreadedMotoServer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ACCESS_KEY = "AKIATESTCLOUD0000000"
SECRET_KEY = "testcloud-secret-key"
# Login users of the distributions' images, as deploy/aws and the controller's Distro table name them.
LOGIN_BY_IMAGE_PREFIX = [("ubuntu", "ubuntu"), ("debian", "admin")]
LIVE_STATES = {"pending", "running"}
# Where machine.sh's poweroff shim records a request, inside the machine's disk.
POWEROFF_REQUEST = os.path.join("var", "lib", "testcloud", "poweroff")


def serve_checkip() -> str:
    """This machine's "public address" as the simulated cloud sees it, for
    the controller's default --ssh-cidr ($AUTOMATION_CHECKIP_URL)."""
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = b"127.0.0.1\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/"


def log(message: str) -> None:
    print(f"testcloud: {message}", file=sys.stderr, flush=True)


class Cloud:
    def __init__(self, directory: str, regions: list[str]):
        self.dir = directory
        self.regions = regions
        self.machines: dict[str, dict] = {}  # instance id -> record
        self.images: dict[str, str] = {}  # image id -> captured layer directory
        self.stopping = threading.Event()
        self.rootfs = subprocess.run([os.path.join(HERE, "..", "testhost", "rootfs.sh"), "ensure"],
                                     check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        # A private /16 no other testcloud on this machine uses: 10.<second>.<index>.0/24 per machine.
        taken = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
        choices = [n for n in range(100, 200) if f"10.{n}." not in taken]
        self.second_octet = random.choice(choices)
        self.tag = f"{random.randrange(16**4):04x}"
        self.free_indices = list(range(1, 250))

    def start_moto(self) -> str:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.clients = {r: boto3.client("ec2", region_name=r, endpoint_url=self.endpoint,
                                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
                        for r in self.regions}
        return self.endpoint

    # --- reconciliation -------------------------------------------------

    def loop(self) -> None:
        while not self.stopping.is_set():
            for region, ec2 in self.clients.items():
                try:
                    self.reconcile(region, ec2)
                except Exception as error:  # moto hiccups must not end the cloud
                    log(f"{region}: {error!r}")
            self.stopping.wait(0.5)

    def reconcile(self, region: str, ec2) -> None:
        seen = {}
        for page in ec2.get_paginator("describe_instances").paginate():
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    seen[instance["InstanceId"]] = instance
        self.capture_images(ec2)
        for instance_id, instance in seen.items():
            state = instance["State"]["Name"]
            record = self.machines.get(instance_id)
            if state in LIVE_STATES and (record is None or not record["up"]):
                self.boot(region, ec2, instance, record)
            elif state == "running" and record is not None and record["up"] and self.wants_power_off(record):
                self.power_off(ec2, instance_id, record)
            elif state not in LIVE_STATES and record is not None and record["up"]:
                self.shut_down(instance_id, remove=state in ("terminated", "shutting-down"))
            elif state == "terminated" and record is not None:
                self.remove(instance_id)
        for instance_id in [i for i, r in self.machines.items() if r["region"] == region and i not in seen]:
            self.remove(instance_id)

    def capture_images(self, ec2) -> None:
        for image in ec2.describe_images(Owners=["self"])["Images"]:
            image_id = image["ImageId"]
            if image_id in self.images:
                continue
            source = next((t["Value"] for t in image.get("Tags", []) if t["Key"] == "testcloud:source"), None)
            source = source or self.source_instance(ec2, image_id)
            record = self.machines.get(source) if source else None
            if record is None:
                self.images[image_id] = ""
                continue
            layer = os.path.join(self.dir, "images", image_id)
            os.makedirs(os.path.dirname(layer), exist_ok=True)
            # The image is the instance's disk as it is now: its lower layers plus its changes.
            subprocess.run(["cp", "-a", os.path.join(record["dir"], "upper"), layer], check=True)
            # A power-off request belongs to the instance, never to instances of its image.
            if os.path.isfile(os.path.join(layer, POWEROFF_REQUEST)):
                os.remove(os.path.join(layer, POWEROFF_REQUEST))
            self.images[image_id] = layer + ":" + record["lower"]
            log(f"image {image_id} captured from {source}")

    def source_instance(self, ec2, image_id: str):
        for instance_id in self.machines:
            found = ec2.describe_images(Filters=[{"Name": "source-instance-id", "Values": [instance_id]}])["Images"]
            if any(i["ImageId"] == image_id for i in found):
                return instance_id
        return None

    def login_user(self, ec2, image_id: str) -> str:
        try:
            name = ec2.describe_images(ImageIds=[image_id])["Images"][0].get("Name", "")
        except Exception:
            name = ""
        return next((user for prefix, user in LOGIN_BY_IMAGE_PREFIX if prefix in name.lower()), "admin")

    def boot(self, region: str, ec2, instance: dict, record) -> None:
        instance_id = instance["InstanceId"]
        if record is None:
            if not self.free_indices:
                log(f"{instance_id}: no room for another machine")
                return
            index = self.free_indices.pop(0)
            directory = os.path.join(self.dir, "machines", instance_id)
            os.makedirs(directory, exist_ok=True)
            image_layer = self.images.get(instance["ImageId"]) or ""
            record = {"region": region, "index": index, "dir": directory, "up": False,
                      "lower": image_layer or self.rootfs, "login": self.login_user(ec2, instance["ImageId"])}
            self.machines[instance_id] = record
            user_data = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData").get("UserData", {}).get("Value", "")
            with open(os.path.join(directory, "user-data"), "wb") as f:
                f.write(base64.b64decode(user_data) if user_data else b"")
            key = ""
            if instance.get("KeyName"):
                pairs = ec2.describe_key_pairs(KeyNames=[instance["KeyName"]], IncludePublicKey=True)["KeyPairs"]
                key = pairs[0].get("PublicKey", "") if pairs else ""
            with open(os.path.join(directory, "authorized_keys"), "w") as f:
                f.write(key.strip() + "\n" if key else "")
        index = record["index"]
        spec = {
            "NETNS": f"tc{self.tag}-{index}", "HOST_IF": f"tc{self.tag}h{index}", "NS_IF": f"tc{self.tag}n{index}",
            "SUBNET": f"10.{self.second_octet}.{index}", "LOWER": record["lower"], "LOGIN": record["login"],
            "INSTANCE_ID": instance_id, "LAUNCH_INDEX": str(instance.get("AmiLaunchIndex", 0)),
        }
        with open(os.path.join(record["dir"], "spec"), "w") as f:
            for key, value in spec.items():
                f.write(f"{key}='{value}'\n")
        result = subprocess.run([os.path.join(HERE, "machine.sh"), "up", record["dir"]], capture_output=True, text=True)
        if result.returncode != 0:
            log(f"{instance_id} did not boot: {result.stderr.strip()}")
            record["failed"] = True
            record["up"] = True  # a machine that cannot boot is not retried every half second
            return
        record["up"] = True
        record["address"] = result.stdout.strip().split("=", 1)[1]
        record["names"] = [a for a in (instance.get("PublicIpAddress"), instance.get("PrivateIpAddress")) if a]
        self.write_address_map()
        log(f"{instance_id} up at {record['address']} as {', '.join(record['names'])} (login {record['login']})")

    def wants_power_off(self, record: dict) -> bool:
        # A regular file: a whiteout (a character device) hides an image's stale one.
        return not record.get("powering_off") and os.path.isfile(os.path.join(record["dir"], "upper", POWEROFF_REQUEST))

    def power_off(self, ec2, instance_id: str, record: dict) -> None:
        """What EC2 does when an instance's OS shuts down: stop or terminate it,
        as its shutdown behaviour says; the next round takes the machine down."""
        attribute = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="instanceInitiatedShutdownBehavior")
        behaviour = attribute.get("InstanceInitiatedShutdownBehavior", {}).get("Value", "stop")
        if behaviour == "terminate":
            ec2.terminate_instances(InstanceIds=[instance_id])
        else:
            ec2.stop_instances(InstanceIds=[instance_id])
        record["powering_off"] = True
        log(f"{instance_id} powered itself off (shutdown behaviour {behaviour})")

    def shut_down(self, instance_id: str, remove: bool) -> None:
        record = self.machines[instance_id]
        subprocess.run([os.path.join(HERE, "machine.sh"), "down", record["dir"]], capture_output=True)
        record["up"] = False
        record["powering_off"] = False
        record.pop("address", None)
        self.write_address_map()
        log(f"{instance_id} {'terminated' if remove else 'stopped'}")
        if remove:
            self.remove(instance_id)

    def remove(self, instance_id: str) -> None:
        record = self.machines.pop(instance_id)
        subprocess.run([os.path.join(HERE, "machine.sh"), "down", record["dir"]], capture_output=True)
        shutil.rmtree(record["dir"], ignore_errors=True)
        self.free_indices.append(record["index"])
        self.write_address_map()

    def write_address_map(self) -> None:
        lines = ["# written by deploy/testcloud: instance address -> its machine"]
        for instance_id, record in sorted(self.machines.items()):
            if record.get("address"):
                lines += [f"{name} {record['address']}:22  # {instance_id}" for name in record["names"]]
        # Instance addresses are moto's inventions (real public ranges): never connect to one for real.
        lines.append("* reject")
        path = os.path.join(self.dir, "address-map")
        with open(path + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(path + ".tmp", path)

    def tear_down(self) -> None:
        for instance_id in list(self.machines):
            self.remove(instance_id)
        shutil.rmtree(os.path.join(self.dir, "images"), ignore_errors=True)


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] != "serve":
        sys.exit(__doc__)
    # Whatever descriptors the starter leaked (Foundation's Process watches one to see
    # its child exit) must not be held open for the daemon's whole life.
    os.closerange(3, 65536)
    directory = os.path.abspath(sys.argv[2])
    regions = os.environ.get("TESTCLOUD_REGIONS", "us-west-2 us-east-1").split()
    os.environ.setdefault("MOTO_AMIS_PATH", os.path.join(HERE, "..", "aws", "moto-amis.json"))
    # The namespace role attaches AmazonSSMManagedInstanceCore, an AWS managed policy.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    cloud = Cloud(directory, regions)
    endpoint = cloud.start_moto()
    cloud.write_address_map()
    signal.signal(signal.SIGTERM, lambda *_: cloud.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: cloud.stopping.set())
    exports = {
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": regions[0], "AWS_EC2_METADATA_DISABLED": "true",
        "AUTOMATION_ADDRESS_MAP": os.path.join(directory, "address-map"),
        "AUTOMATION_CHECKIP_URL": serve_checkip(),
    }
    with open(os.path.join(directory, "env.json"), "w") as f:
        json.dump(exports, f)
    # Written last and renamed into place: ./up waits for this file.
    with open(os.path.join(directory, "env.tmp"), "w") as f:
        f.writelines(f"export {k}='{v}'\n" for k, v in exports.items())
    os.replace(os.path.join(directory, "env.tmp"), os.path.join(directory, "env"))
    try:
        cloud.loop()
    finally:
        cloud.tear_down()
        log("down")
        os._exit(0)


if __name__ == "__main__":
    main()

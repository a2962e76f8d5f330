"""NAT gateways and instances of a describe-* import, with their ENIs and addresses (11.5, 11.8).

Addresses are kept as AWS shows them (ref 5.3) unless netemu cannot use them (an emulator's
127.x elastic IP, a private IP outside its subnet): then a `changed` note says so.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from netemu.interop import ipv6
from netemu.interop.names import (
    IDLE_TIMEOUT_TAG,
    SERVICES_TAG,
    USER_DATA_TAG,
    Namer,
    services_of_tag,
    tag,
)
from netemu.interop.notes import Note
from netemu.model.validate_internet import is_public

UNKNOWN_PUBLIC_IP = "NetemuPublicIpUnknown"  # a Terraform plan's public IP, known after apply
_LIVE_INSTANCE = {
    "pending": "running",
    "running": "running",
    "stopping": "stopped",
    "stopped": "stopped",
}


class Endpoints:
    """Mixed into the converter: what it has read so far, and the two kinds of ENI owner."""

    out: dict[str, Any]
    notes: list[Note]
    endpoints: Namer
    subnet: dict[str, str]
    nat: dict[str, str]
    instance: dict[str, str]
    eni_owner: dict[str, str]
    secondary_enis: dict[str, str]  # secondary ENI id -> its network_interfaces name

    def items(self, key: str) -> Sequence[Mapping[str, Any]]:
        raise NotImplementedError

    def _nat_gateways(self) -> None:
        nats: dict[str, Any] = {}
        for n in self.items("NatGateways"):
            nid, state = str(n["NatGatewayId"]), n.get("State", "available")
            if state not in ("pending", "available"):
                self.notes.append(Note(nid, f"state {state}; left out", "skipped"))
                continue
            if n.get("SubnetId") not in self.subnet:
                self.notes.append(Note(nid, "its subnet is not in the import; left out"))
                continue
            if n.get("ConnectivityType", "public") == "private":
                self.notes.append(Note(nid, "private NAT gateways are not emulated yet"))
                continue
            addresses = list(n.get("NatGatewayAddresses") or [])
            primary = next((a for a in addresses if a.get("IsPrimary")), None)
            primary = primary or (addresses[0] if addresses else {})
            name = self.endpoints.name(tag(n), nid)
            self.nat[nid] = name
            spec: dict[str, Any] = {"id": nid, "subnet": self.subnet[n["SubnetId"]]}
            if primary.get("NetworkInterfaceId"):
                spec["network_interface_id"] = primary["NetworkInterfaceId"]
            private = self._private(nid, spec["subnet"], primary.get("PrivateIp"))
            if private:
                spec["private_ip"] = private
            public = self._public(nid, primary.get("PublicIp"))
            spec["elastic_ip"] = public or "auto"
            timeout = tag(n, IDLE_TIMEOUT_TAG)
            if timeout and timeout.isdigit():
                spec["idle_timeout"] = int(timeout)
            for extra in addresses:
                if extra is not primary:
                    msg = f"secondary address {extra.get('PrivateIp')} is not emulated yet"
                    self.notes.append(Note(nid, msg))
            nats[name] = spec
        self.out["nat_gateways"] = nats

    def _instances(self) -> None:
        elastic = {str(a["PublicIp"]) for a in self.items("Addresses") if a.get("PublicIp")}
        instances: dict[str, Any] = {}
        for r in self.items("Reservations"):
            for i in r["Instances"]:
                spec = self._instance(i, elastic, bool(self.items("Addresses")))
                if spec is not None:
                    name = self.endpoints.name(tag(i), str(i["InstanceId"]))
                    self.instance[str(i["InstanceId"])] = name
                    if spec.get("network_interface_id"):
                        self.eni_owner[spec["network_interface_id"]] = name
                    instances[name] = spec
                    self._secondary_enis(i, name, spec["subnet"])
        self.out["instances"] = instances

    def _secondary_enis(self, i: Mapping[str, Any], owner: str, home: str) -> None:
        """The instance's ENIs at device index 1 and up, as `network_interfaces` (9.20);
        named by the Name tag describe-network-interfaces shows (TagSet), else by id."""
        tags = {str(e["NetworkInterfaceId"]): e for e in self.items("NetworkInterfaces")}
        nics = self.out.setdefault("network_interfaces", {})
        for eni in i.get("NetworkInterfaces") or []:
            index = int((eni.get("Attachment") or {}).get("DeviceIndex", 0))
            eid = str(eni.get("NetworkInterfaceId", ""))
            if index == 0 or not eid:
                continue
            if eni.get("SubnetId") not in self.subnet:
                self.notes.append(Note(eid, "its subnet is not in the import; left out"))
                continue
            subnet = self.subnet[eni["SubnetId"]]
            if self.out["subnets"][subnet].get("vpc") != self.out["subnets"][home].get("vpc"):
                msg = "an ENI of another VPC than its instance's is not emulated; left out"
                self.notes.append(Note(eid, msg))
                continue
            name = self.endpoints.name(tag(tags.get(eid, {})), eid)
            spec: dict[str, Any] = {"id": eid, "subnet": subnet, "instance": owner,
                                    "device_index": index}  # fmt: skip
            private = self._private(eid, subnet, eni.get("PrivateIpAddress"))
            if private:
                spec["private_ip"] = private
            secondary = self._secondary_ips(eid, subnet, eni)
            if secondary:
                spec["secondary_private_ips"] = secondary
            spec["security_groups"] = [str(g["GroupId"]) for g in eni.get("Groups") or []]
            if eni.get("SourceDestCheck") is False:
                spec["source_dest_check"] = False
            self.secondary_enis[eid] = name
            nics[name] = spec

    def _secondary_ips(self, oid: str, subnet: str, eni: Mapping[str, Any]) -> list[str]:
        """An ENI's secondary private IPs (PrivateIpAddresses with Primary false, 9.21)."""
        out = []
        for ip in eni.get("PrivateIpAddresses") or []:
            if not ip.get("Primary", True):
                usable = self._private(oid, subnet, ip.get("PrivateIpAddress"))
                if usable:
                    out.append(usable)
        return out

    def _instance(
        self, i: Mapping[str, Any], elastic: set[str], have_addresses: bool
    ) -> dict[str, Any] | None:
        iid = str(i["InstanceId"])
        state = str((i.get("State") or {}).get("Name", "running"))
        if state not in _LIVE_INSTANCE:
            self.notes.append(Note(iid, f"state {state}; left out", "skipped"))
            return None
        if i.get("SubnetId") not in self.subnet:
            self.notes.append(Note(iid, "not in a subnet of the import; left out"))
            return None
        enis = sorted(
            i.get("NetworkInterfaces") or [],
            key=lambda e: (e.get("Attachment") or {}).get("DeviceIndex", 0),
        )
        eni = enis[0] if enis else {}
        spec: dict[str, Any] = {"id": iid, "subnet": self.subnet[i["SubnetId"]]}
        if eni.get("NetworkInterfaceId"):
            spec["network_interface_id"] = eni["NetworkInterfaceId"]
        private = self._private(iid, spec["subnet"], i.get("PrivateIpAddress"))
        if private:  # absent in a Terraform plan: the lowest free one
            spec["private_ip"] = private
        public = i.get("PublicIpAddress") or (eni.get("Association") or {}).get("PublicIp")
        if public:
            owner = (eni.get("Association") or {}).get("IpOwnerId", "amazon")
            is_eip = public in elastic if have_addresses else owner != "amazon"
            usable = self._public(iid, str(public))
            if is_eip:
                spec["elastic_ip"] = usable or "auto"
            else:
                spec["public_ip"] = usable or True
        elif (
            self.out["subnets"][spec["subnet"]].get("public_ip_on_launch")
            and state in ("pending", "running")
            and not i.get(UNKNOWN_PUBLIC_IP)
        ):  # launched without the subnet's auto public IP (ref 2.6)
            spec["public_ip"] = False
        groups = eni.get("Groups") or i.get("SecurityGroups") or []
        spec["security_groups"] = [str(g["GroupId"]) for g in groups]  # names set later
        if i.get("SourceDestCheck") is False:
            spec["source_dest_check"] = False
        if _LIVE_INSTANCE[state] == "stopped":
            spec["state"] = "stopped"
        services = tag(i, SERVICES_TAG)
        if services:
            spec["services"] = services_of_tag(services)
        user_data = tag(i, USER_DATA_TAG)
        if user_data:
            with contextlib.suppress(ValueError):
                spec["user_data"] = base64.b64decode(user_data, validate=True).decode()
        ct = eni.get("ConnectionTrackingConfiguration") or {}
        timeouts = {
            "tcp_established_timeout": ct.get("TcpEstablishedTimeout"),
            "udp_stream_timeout": ct.get("UdpStreamTimeout"),
            "udp_timeout": ct.get("UdpTimeout"),
        }
        if any(v is not None for v in timeouts.values()):
            spec["connection_tracking"] = {k: v for k, v in timeouts.items() if v is not None}
        secondary = self._secondary_ips(iid, spec["subnet"], eni)
        if secondary:
            spec["secondary_private_ips"] = secondary
        sub = self.out["subnets"][spec["subnet"]]
        if (
            sub.get("ipv6_native")
            and not ipv6.address(eni)
            and ":" in str(i.get("PrivateIpAddress"))
        ):
            spec["ipv6_address"] = str(i["PrivateIpAddress"])  # moto's shape of its address
        elif ipv6.address(eni) and "ipv6_cidr" in sub:
            spec["ipv6_address"] = ipv6.address(eni)
        elif ipv6.address(eni):
            self.notes.append(Note(iid, "its IPv6 address has no IPv6 subnet here; left out"))
        return spec

    def _private(self, oid: str, subnet: str, ip: Any) -> str | None:
        """The private IP, or None (the lowest free) when it is not usable in its subnet."""
        if not ip:
            return None
        if "cidr" not in self.out["subnets"][subnet]:  # IPv6-only: no IPv4 at all (16.11)
            if ":" not in str(ip):  # an IPv6 one is moto's shape of the IPv6 address
                msg = f"private IP {ip} left out: its subnet is IPv6-only"
                self.notes.append(Note(oid, msg, "changed"))
            return None
        cidr = IPv4Network(self.out["subnets"][subnet]["cidr"], strict=False)
        try:
            usable = IPv4Address(str(ip)) in cidr
        except ValueError:
            usable = False
        if not usable:
            msg = f"private IP {ip} is not inside its subnet {cidr}; netemu picks the lowest free"
            self.notes.append(Note(oid, msg, "changed"))
            return None
        return str(ip)

    def _public(self, oid: str, ip: Any) -> str | None:
        """A public IP kept as it is (ref 5.3), or None (one from the pool) when it is not a
        public address, like the 127.x elastic IPs of some emulators."""
        if not ip:
            return None
        try:
            public = is_public(IPv4Address(str(ip)))
        except ValueError:
            public = False
        if not public:
            msg = f"public IP {ip} is not a public address; netemu picks one from its pool"
            self.notes.append(Note(oid, msg, "changed"))
            return None
        return str(ip)

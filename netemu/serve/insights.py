"""Reachability Analyzer's API (ref 13), answered with real packets.

moto does not implement the Network Insights calls. Here a path names a source and a
destination as AWS does (instance, network interface, or internet gateway meaning the
emulated internet, narrowed by SourceIp/DestinationIp); an analysis sends one real probe
through the running scenario and reports what the kernel did in AWS's shapes:
NetworkPathFound, ForwardPathComponents/ReturnPathComponents from the probe's hops, and an
Explanation with ExplanationCode, Direction and the blocking component and rule.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from typing import Any

from moto.moto_api._internal import mock_random

from netemu.errors import NetemuError
from netemu.model.types import Model
from netemu.probe.engine import ProbeResult, ProbeSpec
from netemu.serve import aws
from netemu.serve.account import ACCOUNT_ID, Response

ACTIONS = (
    "CreateNetworkInsightsPath",
    "DescribeNetworkInsightsPaths",
    "DeleteNetworkInsightsPath",
    "StartNetworkInsightsAnalysis",
    "DescribeNetworkInsightsAnalyses",
    "DeleteNetworkInsightsAnalysis",
)
# Without DestinationPort AWS analyses every port; one packet needs one port.
DEFAULT_PORT = {"tcp": 80, "udp": 53}

Prober = Callable[[Model, ProbeSpec], ProbeResult]


class Insights:
    """Paths and analyses of one account, kept in `path` (a JSON file) across restarts."""

    def __init__(self, path: str, region: str, model: Callable[[], Model], prober: Prober) -> None:
        self.file = path
        self.region = region
        self.model = model
        self.prober = prober
        self.paths: dict[str, dict[str, Any]] = {}
        self.analyses: dict[str, dict[str, Any]] = {}
        try:
            with open(path, encoding="utf-8") as f:
                saved = json.load(f)
            self.paths, self.analyses = saved["paths"], saved["analyses"]
        except (FileNotFoundError, ValueError, KeyError):
            pass

    def handlers(self) -> dict[str, Callable[[str, dict[str, str]], Response]]:
        return {a: self.handle for a in ACTIONS}

    def handle(self, action: str, params: dict[str, str]) -> Response:
        try:
            body = getattr(self, "_" + action)(params)
        except aws.AwsError as e:
            return aws.error(action, e.code, str(e))
        return aws.result(action, body)

    def _save(self) -> None:
        tmp = self.file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"paths": self.paths, "analyses": self.analyses}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.file)

    def _arn(self, kind: str, ident: str) -> str:
        return f"arn:aws:ec2:{self.region}:{ACCOUNT_ID}:{kind}/{ident}"

    # -- paths --------------------------------------------------------------------------

    def _CreateNetworkInsightsPath(self, p: dict[str, str]) -> dict[str, Any]:
        if "Source" not in p or "Protocol" not in p:
            raise aws.AwsError("MissingParameter", "Source and Protocol are required")
        if p["Protocol"] not in ("tcp", "udp"):
            raise aws.AwsError("InvalidParameterValue", "Protocol must be tcp or udp")
        ident = "nip-" + mock_random.get_random_hex(17)
        path: dict[str, Any] = {
            "NetworkInsightsPathId": ident,
            "NetworkInsightsPathArn": self._arn("network-insights-path", ident),
            "CreatedDate": _now(),
            "Source": p["Source"],
            "Protocol": p["Protocol"],
        }
        for key in ("Destination", "SourceIp", "DestinationIp"):
            if key in p:
                path[key] = p[key]
        if "DestinationPort" in p:
            path["DestinationPort"] = int(p["DestinationPort"])
        path["Tags"] = _tags(p)
        self.paths[ident] = path
        self._save()
        return {"NetworkInsightsPath": path}

    def _DescribeNetworkInsightsPaths(self, p: dict[str, str]) -> dict[str, Any]:
        wanted = _list(p, "NetworkInsightsPathIds")
        for ident in wanted:
            if ident not in self.paths:
                raise aws.AwsError(
                    "InvalidNetworkInsightsPathId.NotFound", f"path {ident} does not exist"
                )
        found = [v for k, v in self.paths.items() if not wanted or k in wanted]
        return {"NetworkInsightsPaths": found}

    def _DeleteNetworkInsightsPath(self, p: dict[str, str]) -> dict[str, Any]:
        ident = p.get("NetworkInsightsPathId", "")
        if ident not in self.paths:
            raise aws.AwsError(
                "InvalidNetworkInsightsPathId.NotFound", f"path {ident} does not exist"
            )
        del self.paths[ident]
        self.analyses = {
            k: v for k, v in self.analyses.items() if v["NetworkInsightsPathId"] != ident
        }
        self._save()
        return {"NetworkInsightsPathId": ident}

    # -- analyses -----------------------------------------------------------------------

    def _StartNetworkInsightsAnalysis(self, p: dict[str, str]) -> dict[str, Any]:
        path_id = p.get("NetworkInsightsPathId", "")
        path = self.paths.get(path_id)
        if path is None:
            raise aws.AwsError(
                "InvalidNetworkInsightsPathId.NotFound", f"path {path_id} does not exist"
            )
        ident = "nia-" + mock_random.get_random_hex(17)
        analysis: dict[str, Any] = {
            "NetworkInsightsAnalysisId": ident,
            "NetworkInsightsAnalysisArn": self._arn("network-insights-analysis", ident),
            "NetworkInsightsPathId": path_id,
            "StartDate": _now(),
            "Tags": _tags(p),
        }
        try:
            model = self.model()
            spec, warning = probe_spec(model, path)
            analysis.update(to_analysis(model, self.prober(model, spec)))
            analysis["Status"] = "succeeded"
            if warning:
                analysis["WarningMessage"] = warning
        except NetemuError as e:
            analysis.update({"Status": "failed", "StatusMessage": str(e)})
        self.analyses[ident] = analysis
        self._save()
        return {"NetworkInsightsAnalysis": analysis}

    def _DescribeNetworkInsightsAnalyses(self, p: dict[str, str]) -> dict[str, Any]:
        wanted = _list(p, "NetworkInsightsAnalysisIds")
        path_id = p.get("NetworkInsightsPathId")
        for ident in wanted:
            if ident not in self.analyses:
                raise aws.AwsError(
                    "InvalidNetworkInsightsAnalysisId.NotFound",
                    f"analysis {ident} does not exist",
                )
        found = [
            v
            for k, v in self.analyses.items()
            if (not wanted or k in wanted)
            and (path_id is None or v["NetworkInsightsPathId"] == path_id)
        ]
        return {"NetworkInsightsAnalyses": found}

    def _DeleteNetworkInsightsAnalysis(self, p: dict[str, str]) -> dict[str, Any]:
        ident = p.get("NetworkInsightsAnalysisId", "")
        if ident not in self.analyses:
            raise aws.AwsError(
                "InvalidNetworkInsightsAnalysisId.NotFound", f"analysis {ident} does not exist"
            )
        del self.analyses[ident]
        self._save()
        return {"NetworkInsightsAnalysisId": ident}


def probe_spec(model: Model, path: dict[str, Any]) -> tuple[ProbeSpec, str | None]:
    """The one probe that answers a path, and a warning where one packet narrows it."""
    source = _endpoint(model, path["Source"], path.get("SourceIp"), "source")
    if "Destination" in path:
        destination = _endpoint(model, path["Destination"], path.get("DestinationIp"), "dest")
    elif "DestinationIp" in path:
        destination = path["DestinationIp"]
    else:
        raise NetemuError("the path names no Destination or DestinationIp")
    protocol = path["Protocol"]
    port = path.get("DestinationPort")
    warning = None
    if port is None:
        port = DEFAULT_PORT[protocol]
        warning = f"no DestinationPort: netemu sent one {protocol} packet to port {port}"
    return ProbeSpec(source, destination, protocol, int(port)), warning


def _endpoint(model: Model, ref: str, ip: str | None, role: str) -> str:
    """An AWS resource ID (or ARN) as a probe endpoint name."""
    ident = ref.rsplit("/", 1)[-1]
    for inst in model.instances.values():
        if ident in (inst.id, inst.eni.id):
            return inst.name
    if ident in {g.id for g in model.internet_gateways.values()}:
        # The internet gateway stands for the emulated internet beyond it.
        for host in model.internet_hosts.values():
            if ip is None or str(host.ip) == ip:
                return host.name
        if role == "dest" and ip is not None:
            return ip
        raise NetemuError(f"no internet host has the address {ip}")
    raise NetemuError(f"{ref} is not an instance, network interface or internet gateway")


def to_analysis(model: Model, r: ProbeResult) -> dict[str, Any]:
    """A probe result in AWS's NetworkInsightsAnalysis shape."""
    components = [c for c in (_component(model, h) for h in r.hops) if c]
    found = r.result == "reachable"
    out: dict[str, Any] = {"NetworkPathFound": found}
    forward = components
    if r.reason is None or r.reason.leg == "reply":
        out["ForwardPathComponents"] = _numbered(forward)
    if found:
        out["ReturnPathComponents"] = _numbered(list(reversed(forward)))
    if r.reason is not None:
        out["Explanations"] = [_explanation(model, r.reason.to_json())]
    return out


def _numbered(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"SequenceNumber": i + 1, **c} for i, c in enumerate(components)]


def _component(model: Model, hop: str) -> dict[str, Any] | None:
    kind, _, name = hop.partition(":")
    ident = _id_of(model, kind, name)
    if ident is None:
        return None
    return {"Component": {"Id": ident, "Name": name}}


def _id_of(model: Model, kind: str, name: str) -> str | None:
    if kind == "instance" and name in model.instances:
        return model.instances[name].id
    if kind == "subnet" and name in model.subnets:
        return model.subnets[name].id
    if kind == "internet_gateway" and name in model.internet_gateways:
        return model.internet_gateways[name].id
    if kind == "nat_gateway" and name in model.nat_gateways:
        return model.nat_gateways[name].id
    if kind == "vpc_router" and name in model.vpcs:
        return model.vpcs[name].id
    if kind == "network_acl" and name in model.network_acls:
        return model.network_acls[name].id
    if kind == "route_table" and name in model.route_tables:
        return model.route_tables[name].id
    if kind == "security_group":
        group = next((g for g in model.security_groups.values() if g.name == name), None)
        return group.id if group else None
    return None


def _explanation(model: Model, reason: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"ExplanationCode": reason["code"]}
    if reason.get("direction"):
        out["Direction"] = reason["direction"]
    kind, _, name = str(reason.get("component", "")).partition(":")
    ident = _id_of(model, kind, name)
    ref = {"Id": ident, "Name": name} if ident else None
    rule = reason.get("rule")
    if kind == "network_acl" and ref:
        out["Acl"] = ref
        if rule is not None and str(rule).isdigit():
            acl = model.network_acls[name]
            egress = reason.get("direction") == "egress"
            entry = next(
                (e for e in (acl.egress if egress else acl.ingress) if e.number == int(rule)),
                None,
            )
            if entry is not None:
                out["AclRule"] = {
                    "RuleNumber": entry.number,
                    "RuleAction": entry.action,
                    "Egress": egress,
                    "Cidr": str(entry.cidr),
                }
    elif kind == "security_group" and ref:
        out["SecurityGroup"] = ref
    elif kind == "route_table" and ref:
        out["RouteTable"] = ref
        if rule:
            out["RouteTableRoute"] = {"DestinationCidr": str(rule)}
    elif kind == "internet_gateway" and ref:
        out["InternetGateway"] = ref
    elif kind == "nat_gateway" and ref:
        out["NatGateway"] = ref
    elif ref:
        out["Component"] = ref
    return out


def _list(p: dict[str, str], name: str) -> list[str]:
    return [v for k, v in sorted(p.items()) if k.startswith(name + ".")]


def _tags(p: dict[str, str]) -> list[dict[str, str]]:
    tags = []
    i = 1
    while f"TagSpecification.1.Tag.{i}.Key" in p:
        tags.append(
            {
                "Key": p[f"TagSpecification.1.Tag.{i}.Key"],
                "Value": p.get(f"TagSpecification.1.Tag.{i}.Value", ""),
            }
        )
        i += 1
    return tags


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")

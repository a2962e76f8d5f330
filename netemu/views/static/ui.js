// netemu ui: talks to the server it came from (127.0.0.1); no other resource is loaded.
"use strict";
const $ = (id) => document.getElementById(id);

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text === null || text === undefined ? "-" : String(text);
  if (cls) td.className = cls;
  return td;
}

async function json(url) {
  const r = await fetch(url);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function fill(select, names) {
  select.innerHTML = "";
  for (const n of names) select.add(new Option(n, n));
}

async function loadState() {
  const s = await json("/api/state");
  $("scenario").textContent = `${s.scenario} (${s.region})`;
  const body = $("instances").tBodies[0];
  body.innerHTML = "";
  for (const i of s.instances) {
    const row = body.insertRow();
    cell(row, i.name); cell(row, i.state, i.state); cell(row, i.private_ip);
    cell(row, i.public_ip); cell(row, i.subnet);
  }
  const sources = s.instances.map((i) => i.name).concat(s.internet_hosts.map((h) => h.name));
  fill($("from"), sources);
  fill($("to"), s.instances.map((i) => i.name)
    .concat(s.nat_gateways.map((g) => g.name), s.internet_hosts.map((h) => h.name)));
  if (s.internet_hosts.length) $("from").value = s.internet_hosts[0].name;  // outside in
  const ex = $("expectations").tBodies[0];
  ex.innerHTML = "";
  for (const e of s.expectations) cell(ex.insertRow(), e.title);
  window.flowLogs = s.flow_logs.length > 0;
  return s;
}

async function loadDiagram() {
  const r = await fetch("/api/diagram.svg");
  $("diagram").innerHTML = await r.text();
}

async function runProbe(from, to, protocol, port) {
  $("verdict").textContent = `probing ${from} -> ${to} …`;
  try {
    const q = new URLSearchParams({ from, to, protocol, port: String(port || "") });
    const p = await json(`/api/probe?${q}`);
    $("verdict").innerHTML = "";
    const badge = document.createElement("span");
    badge.className = p.result.result;
    badge.textContent = p.result.result.toUpperCase();
    $("verdict").append(badge, ` ${p.title}` + (p.drop ? ` — ${p.drop}` : ""));
    $("diagram").innerHTML = p.svg;
    document.body.dataset.probe = p.result.result;
  } catch (e) {
    $("verdict").textContent = `error: ${e.message}`;
    document.body.dataset.probe = "error";
  }
}

async function runExpectations() {
  $("run-expect").disabled = true;
  const r = await json("/api/expectations");
  const ex = $("expectations").tBodies[0];
  ex.innerHTML = "";
  for (const o of r.results) {
    const row = ex.insertRow();
    cell(row, o.ok ? "PASS" : "FAIL", o.ok ? "PASS" : "FAIL");
    cell(row, o.title);
    cell(row, o.reason ? o.reason.code : o.why || "");
  }
  $("run-expect").disabled = false;
  document.body.dataset.expectations = "done";
}

let after = 0;
async function tailFlowLogs() {
  if (!window.flowLogs) return;
  const r = await json(`/api/flowlogs?after=${after}`);
  if (after === 0) $("flowlogs").textContent = "";
  after = r.next;
  if (r.lines.length) {
    $("flowlogs").textContent += r.lines.join("\n") + "\n";
    $("flowlogs").scrollTop = $("flowlogs").scrollHeight;
  }
}

$("probe").addEventListener("submit", (ev) => {
  ev.preventDefault();
  runProbe($("from").value, $("to").value, $("protocol").value, $("port").value);
});
$("run-expect").addEventListener("click", runExpectations);

(async () => {
  await loadState();
  await loadDiagram();
  const params = new URLSearchParams(location.search);
  if (params.get("probe")) {  // ?probe=FROM,TO,PROTOCOL[,PORT]: a link that runs a probe
    const [from, to, protocol, port] = params.get("probe").split(",");
    await runProbe(from, to, protocol, port);
  }
  if (params.get("expect")) await runExpectations();
  await tailFlowLogs();
  document.body.dataset.ready = "yes";
  setInterval(tailFlowLogs, 2000);
})();

#!/usr/bin/env node
// Load client for bench/scaleout.sh: POST /v1/sessions/<id>/registrations for sessions
// s_b_0 .. s_b_<n-1> (seeded by the script), spread round-robin over the given servers, from
// <clients> concurrent keep-alive connections.  Talks only to 127.0.0.1; stops after n requests
// or <seconds>, whichever comes first.  Prints one JSON line.
//   node bench/registrations.js --ports 8001,8002 --key sk_... --n 2000 --clients 16 [--seconds 60] [--offset 0]
'use strict';
const http = require('http');

function arg(name, def) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? process.argv[i + 1] : def;
}
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log('usage: node bench/registrations.js --ports P1,P2 --key KEY --n N --clients C [--seconds S] [--offset O]');
  process.exit(0);
}
const ports = String(arg('ports', '')).split(',').filter(Boolean).map(Number);
const key = arg('key', '');
const n = Number(arg('n', 1000));
const offset = Number(arg('offset', 0));
const clients = Number(arg('clients', 16));
const seconds = Number(arg('seconds', 60));
if (!ports.length || !key || !(n > 0) || !(clients > 0)) {
  console.error('registrations.js: --ports, --key, --n and --clients are required');
  process.exit(2);
}

const agents = ports.map(() => new http.Agent({ keepAlive: true, maxSockets: clients }));
const latencies = [];
const statuses = {};
let next = 0;
const t0 = process.hrtime.bigint();
const deadline = Date.now() + seconds * 1000;

function one(i) {
  return new Promise((resolve) => {
    const s = i % ports.length;
    const body = JSON.stringify({ phone_number: '+86139' + String(10000000 + offset + i).slice(-8) });
    const start = process.hrtime.bigint();
    const req = http.request({
      host: '127.0.0.1', port: ports[s], agent: agents[s], method: 'POST',
      path: `/v1/sessions/s_b_${offset + i}/registrations`,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body),
                 Authorization: 'Bearer ' + key },
    }, (res) => {
      res.resume();
      res.on('end', () => {
        latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
        statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1;
        resolve();
      });
    });
    req.on('error', () => { statuses.error = (statuses.error || 0) + 1; resolve(); });
    req.setTimeout(60000, () => req.destroy());
    req.end(body);
  });
}

async function worker() {
  while (next < n && Date.now() < deadline) await one(next++);
}

Promise.all(Array.from({ length: clients }, worker)).then(() => {
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : 0;
  const created = statuses[201] || 0;
  console.log(JSON.stringify({
    servers: ports.length, clients, requests: latencies.length, created, statuses,
    seconds: Number(secs.toFixed(2)), per_second: Number((created / secs).toFixed(1)),
    p50_ms: Number(q(0.5).toFixed(1)), p99_ms: Number(q(0.99).toFixed(1)),
  }));
  agents.forEach((a) => a.destroy());
});

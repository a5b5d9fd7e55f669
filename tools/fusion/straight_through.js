// Straight-through rate (issue 11), the operator's headline figure: from `simkyc eval --json`
// outputs, the share of genuine pairs that PASS / go to REVIEW / FAIL and the share of impostor
// pairs that PASS with the service defaults (counter: PASS at FMR 1e-4, online: 1e-5; REVIEW band
// from the 1e-3 threshold; a face failing a quality check goes to REVIEW), as a Markdown table.
//   node tools/fusion/straight_through.js NAME=EVAL.json...
const fs = require('fs');
const pct = (x) => (100 * x).toFixed(1) + '%';
const sci = (x) => x === 0 ? '0' : x.toExponential(1);
let md = '| set | model | channel (PASS at FMR) | genuine PASS | genuine REVIEW | genuine FAIL | impostor PASS | impostor REVIEW |\n|---|---|---|---|---|---|---|---|\n';
for (const arg of process.argv.slice(2)) {
  const eq = arg.indexOf('=');
  if (eq < 0) { console.error('usage: straight_through.js NAME=EVAL.json...'); process.exit(2); }
  const name = arg.slice(0, eq), j = JSON.parse(fs.readFileSync(arg.slice(eq + 1), 'utf8'));
  const st = j.straight_through || {};
  if (!Object.keys(st).length) { md += `| ${name} | ${j.model} | no calibration table for this model | | | | | |\n`; continue; }
  for (const [ch, s] of Object.entries(st))
    md += `| ${name} | ${j.model} | ${ch} (${s.target_fmr}) | ${pct(s.genuine.pass)} | ${pct(s.genuine.review)} | ${pct(s.genuine.fail)} | ${sci(s.impostor.pass)} | ${pct(s.impostor.review)} |\n`;
}
process.stdout.write(md);

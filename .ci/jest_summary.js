#!/usr/bin/env node
// Reads a jest --json report and prints one line for .ci/run: `PASSED FAILED SKIPPED`.
// FAILED counts failed tests, suites that failed without a failed test (a crash on import, a
// failing beforeAll), and every skipped test of a suite that must run here: each
// `--require NAME=REGEX` names a group of test files (matched against the path) that may not skip
// anything, because the dependency they need was installed. Reasons go to stderr.
'use strict';
const fs = require('fs');

const [report, ...rest] = process.argv.slice(2);
const required = [];
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === '--require') {
    const [name, re] = String(rest[++i]).split(/=(.*)/s);
    required.push({ name, re: new RegExp(re) });
  }
}

if (!report || !fs.existsSync(report)) {
  console.error(`jest_summary: no report at ${report}`);
  console.log('0 1 0');
  process.exit(0);
}
const r = JSON.parse(fs.readFileSync(report, 'utf8'));
const results = r.testResults || [];
let failed = r.numFailedTests || 0;
for (const t of results) {
  const assertions = t.assertionResults || [];
  if (t.status === 'failed' && !assertions.some((a) => a.status === 'failed')) {
    failed += 1;
    console.error(`suite failed without a failed test: ${t.name}: ${String(t.message || '').split('\n').find((l) => l.trim()) || ''}`);
  }
}
for (const { name, re } of required) {
  for (const t of results.filter((x) => re.test(x.name))) {
    for (const a of (t.assertionResults || []).filter((x) => x.status === 'pending' || x.status === 'skipped' || x.status === 'todo')) {
      failed += 1;
      console.error(`required ${name} test skipped: ${t.name}: ${a.fullName}`);
    }
  }
}
const skipped = (r.numPendingTests || 0) + (r.numTodoTests || 0);
console.log(`${r.numPassedTests || 0} ${failed} ${skipped}`);

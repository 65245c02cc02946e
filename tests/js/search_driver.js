#!/usr/bin/env node
/*
 * Run queries with lunr.js against a search payload, for tests/test_search_agreement.py.
 *
 * usage: node search_driver.js SITE_DIR LUNR_JS SEARCH_JS < request.json
 * request: {"queries": [...], "limit": 10, "dump": false}
 * prints:  {"results": [{"refs": [...], "scores": [...], "error": null}, ...],
 *           "unpacked": [<lunr serialized index per shard>]   (when dump is true)}
 *
 * The payload scripts are evaluated as written (in a sandbox with its own `window`),
 * so the file format itself is exercised, not a re-parse of it.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');

function readPayload(siteDir) {
  const sandbox = { window: {} };
  vm.createContext(sandbox);
  const run = (rel) => vm.runInContext(fs.readFileSync(path.join(siteDir, rel), 'utf8'), sandbox);
  run('search/manifest.js');
  const manifest = JSON.parse(sandbox.window.SurveySearchData.manifest);
  const shards = manifest.shards.map((entry, number) => {
    run('search/' + entry.file);
    return sandbox.window.SurveySearchData['s' + number];
  });
  return { manifest, shards };
}

function main() {
  const [siteDir, lunrPath, searchPath] = process.argv.slice(2);
  globalThis.lunr = require(path.resolve(lunrPath));
  const core = require(path.resolve(searchPath));
  const request = JSON.parse(fs.readFileSync(0, 'utf8'));
  const { manifest, shards } = readPayload(siteDir);
  const loaded = shards.map((json) => core.loadShard(json, manifest));
  const limit = request.limit || 10;
  const results = request.queries.map((query) => {
    const outcome = core.searchShards(loaded, query);
    const top = outcome.results.slice(0, limit);
    return {
      refs: top.map((r) => r.ref),
      scores: top.map((r) => r.score),
      total: outcome.results.length,
      error: outcome.error ? String(outcome.error.message || outcome.error) : null,
    };
  });
  const out = { results };
  if (request.dump) {
    out.unpacked = shards.map((json) => core.unpackShard(JSON.parse(json), manifest.fields));
  }
  if (request.highlight) {
    out.highlight = request.highlight.map(([text, positions]) => core.highlightRanges(text, positions));
  }
  process.stdout.write(JSON.stringify(out));
}

main();
